"""The untrusted side of the call protocol: answer the judge's requests inside the candidate's process.

Runs in the confined child (child.py) after the candidate's source is loaded. Requests (codec frames):
`call` a top-level name or a handle; `op` on a handle (getattr, setattr, getitem, setitem, list, str,
repr, bool). Values the codec cannot send as plain data (instances, bound methods,
generators, classes) are kept here in a handle table and sent as `{"H": id}`; the judge only ever asks
about them (remote.py). After a call, top-level list/dict/set/bytearray arguments whose contents changed
are sent back (`m`) so the judge can copy the mutation into the test's own objects.

Nothing here is trusted: a candidate can replace any of it. It exists so that honest code works; the judge
validates every answer (types, ids, sizes) and decodes only plain data.
What this module does NOT do: time limits, confinement, or deciding anything.
"""

from __future__ import annotations

import builtins

from . import codec

_MUTABLE = (list, dict, set, bytearray)
_OPS = {
    "getattr": lambda o, a, b: getattr(o, a),
    "setattr": lambda o, a, b: setattr(o, a, b),
    "getitem": lambda o, a, b: o[a],
    "setitem": lambda o, a, b: o.__setitem__(a, b),
    "list": lambda o, a, b: list(o),
    "str": lambda o, a, b: str(o),
    "repr": lambda o, a, b: repr(o),
    "bool": lambda o, a, b: bool(o),
}


class Handles:
    """Objects of the candidate the judge holds handles to, by id."""

    def __init__(self):
        self.objects: dict[int, object] = {}
        self.ids: dict[int, int] = {}  # id(obj) -> handle id, so one object keeps one handle

    def register(self, x) -> int | None:
        if hasattr(x, "tolist") or hasattr(x, "__index__"):
            return None  # numpy values and int-likes travel as plain data
        h = self.ids.get(id(x))
        if h is None:
            h = len(self.objects) + 1
            self.objects[h], self.ids[id(x)] = x, h
        return h

    def encode(self, x):
        return codec.encode_value(x, on_object=self.register)

    def decode(self, wire):
        return codec.decode_value(wire, on_handle=self.objects.__getitem__)


def _builtin_bases(e: BaseException) -> list[str]:
    return [c.__name__ for c in type(e).__mro__ if getattr(builtins, c.__name__, None) is c][:20]


def _mutations(handles: Handles, args: list, kwargs: dict, wire_args: list, wire_kwargs: dict) -> dict:
    out = {}
    for i, a in enumerate(args):
        if isinstance(a, _MUTABLE) and (w := handles.encode(a)) != wire_args[i]:
            out[str(i)] = w
    for k, a in kwargs.items():
        if isinstance(a, _MUTABLE) and (w := handles.encode(a)) != wire_kwargs.get(k):
            out["k:" + k] = w
    return out


def answer(req: dict, ns: dict, handles: Handles) -> dict:
    """One reply frame for one request; the candidate's exceptions become an `exc` frame."""
    rid = req.get("id")
    try:
        if req.get("t") == "op":
            obj = handles.objects[req["h"]]
            a = handles.decode(req.get("a"))
            b = handles.decode(req.get("b"))
            try:
                value = _OPS[req["op"]](obj, a, b)
            except AttributeError:
                if req["op"] != "getattr":
                    raise
                return {"t": "noattr", "id": rid}
            except TypeError:
                if req["op"] != "list":
                    raise
                return {"t": "nolist", "id": rid}  # not iterable: a real TypeError in the judge
            return {"t": "ok", "id": rid, "v": handles.encode(value)}
        target = ns[req["name"]] if "name" in req else handles.objects[req["h"]]
        args, kwargs = handles.decode(req["args"]), handles.decode(req["kwargs"])
        value = target(*args, **kwargs)
        reply = {"t": "ok", "id": rid, "v": handles.encode(value)}
        wire_kwargs = {k: v for k, v in req["kwargs"]["D"]} if isinstance(req["kwargs"], dict) else {}
        mutated = _mutations(handles, args, kwargs, req["args"], wire_kwargs)
        if mutated:
            reply["m"] = mutated
        return reply
    except Exception as e:
        try:
            msg = str(e)[:300]
        except Exception:
            msg = "<unprintable>"
        return {"t": "exc", "id": rid, "type": type(e).__name__[:100], "bases": _builtin_bases(e), "msg": msg}
