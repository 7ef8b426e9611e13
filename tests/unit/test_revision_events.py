"""The InvalidRevision Event's message: which revision was refused, which stays applied, and the errors."""

from __future__ import annotations

from reconciler.controller.revision_events import MAX_ERRORS, invalid_message


def test_the_message_names_both_revisions_and_the_errors_with_their_place() -> None:
    message = invalid_message("5d0a11223344556677", "9c1e00112233445566",
                              ["environments/prod.yaml:15: spec.quota.gpu: 'lots' is not a whole number"])
    assert message == ("revision 5d0a11223344 is invalid, nothing from it is applied and revision 9c1e00112233 stays "
                       "applied. Fix the repository and push again: environments/prod.yaml:15: spec.quota.gpu: 'lots' "
                       "is not a whole number")


def test_before_any_good_revision_and_with_many_errors_it_stays_short() -> None:
    errors = [f"environments/e{n}.yaml:1: kind: unknown" for n in range(MAX_ERRORS + 3)]
    message = invalid_message("5d0a11223344556677", None, errors)
    assert "no revision was applied yet" in message
    assert message.endswith(f"environments/e{MAX_ERRORS - 1}.yaml:1: kind: unknown; and 3 more")
