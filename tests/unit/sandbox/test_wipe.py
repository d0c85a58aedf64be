"""isolation.wipe_dir, the cleanup used only without a mount namespace: no recursion, no symlink followed."""

import os

from sandbox.isolation import wipe_dir


def test_deep_chain_is_removed_without_recursion(tmp_path):
    root = tmp_path / "scratch"
    root.mkdir()
    fd = os.open(root, os.O_RDONLY)
    try:
        for _ in range(1500):  # deeper than Python's default recursion limit
            os.mkdir("d", dir_fd=fd)
            sub = os.open("d", os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = sub
        os.close(os.open("leaf", os.O_CREAT | os.O_WRONLY, dir_fd=fd))
    finally:
        os.close(fd)
    wipe_dir(str(root))
    assert os.listdir(root) == []


def test_symlinks_are_removed_not_followed(tmp_path):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep").write_text("keep")
    root = tmp_path / "scratch"
    (root / "d").mkdir(parents=True)
    (root / "link").symlink_to(victim)
    (root / "d" / "link").symlink_to(victim)
    (root / "file").symlink_to(victim / "keep")
    wipe_dir(str(root))
    assert os.listdir(root) == [] and (victim / "keep").read_text() == "keep"


def test_xattrs_on_the_root_are_cleared(tmp_path):
    root = tmp_path / "scratch"
    root.mkdir()
    try:
        os.setxattr(root, "user.planted", b"x")
    except OSError:
        import pytest

        pytest.skip("this filesystem takes no user xattrs")
    wipe_dir(str(root))
    assert os.listxattr(root) == []
