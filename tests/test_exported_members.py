"""The public namespace is exactly what __all__ says, sorted, and nothing private leaks."""

import fieldstream


def test_all_is_sorted_and_complete() -> None:
    assert fieldstream.__all__ == sorted(fieldstream.__all__)
    exported = {name for name in dir(fieldstream) if not name.startswith("_")}
    # submodules appear as attributes once imported; they are private by name
    assert exported == set(fieldstream.__all__) - {"__version__"}


def test_public_members_belong_to_the_package() -> None:
    for name in fieldstream.__all__:
        member = getattr(fieldstream, name)
        if not callable(member) or name == "Path":  # constants and the Path alias
            continue
        module = getattr(member, "__module__", "fieldstream")
        assert module.startswith("fieldstream"), (name, module)
