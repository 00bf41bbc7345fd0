"""Waivers: matching by control, host or group, container; justification shown; expiry; bad files."""

from datetime import date

import pytest

from bulkhead.catalogue import load_catalogue
from bulkhead.results import Outcome, ResultBook
from bulkhead.waivers import WaiverError, apply_waivers, load_waivers

CATALOGUE = load_catalogue()
TODAY = date(2026, 11, 29)


def book_with(*findings, host="web-1", control="5.10"):
    book = ResultBook()
    for finding in findings:
        book.record(host, control, Outcome.FAIL, finding, 0.0)
    return book


def waivers_from(tmp_path, text):
    path = tmp_path / "waivers.yml"
    path.write_text(text)
    return load_waivers(path, CATALOGUE)


WAIVER = """
- control: "5.10"
  host: "web-*"
  container: "legacy-*"
  justification: Vendor appliance, limits enforced by the orchestrator (OPS-42)
  expires: 2027-01-31
"""


def test_a_waiver_waives_matching_findings_with_its_justification(tmp_path):
    book = book_with("container legacy-db: has no memory limit")
    assert apply_waivers(book, waivers_from(tmp_path, WAIVER), today=TODAY) == []
    result = book.hosts["web-1"]["5.10"]
    assert result.outcome is Outcome.WAIVED
    assert result.waived == [
        "container legacy-db: has no memory limit (waived: Vendor appliance, limits enforced by the "
        "orchestrator (OPS-42); until 2027-01-31)"
    ]


def test_a_control_stays_failed_while_one_finding_is_not_waived(tmp_path):
    book = book_with("container legacy-db: has no memory limit", "container api: has no memory limit")
    apply_waivers(book, waivers_from(tmp_path, WAIVER), today=TODAY)
    result = book.hosts["web-1"]["5.10"]
    assert result.outcome is Outcome.FAIL
    assert result.reasons == ["container api: has no memory limit"]
    assert len(result.waived) == 1


@pytest.mark.parametrize(
    ("host", "finding"),
    [("db-1", "container legacy-db: has no memory limit"), ("web-1", "container api: has no memory limit")],
)
def test_a_waiver_for_another_host_or_container_does_not_apply(tmp_path, host, finding):
    book = book_with(finding, host=host)
    apply_waivers(book, waivers_from(tmp_path, WAIVER), today=TODAY)
    assert book.hosts[host]["5.10"].outcome is Outcome.FAIL


def test_an_image_finding_matches_by_image_name(tmp_path):
    book = book_with("image registry.local/app:1.2: no HEALTHCHECK (used by api)", control="4.6")
    text = "- {control: '4.6', container: 'registry.local/app:*', justification: probes external, expires: 2027-01-01}"
    apply_waivers(book, waivers_from(tmp_path, text), today=TODAY)
    assert book.hosts["web-1"]["4.6"].outcome is Outcome.WAIVED


@pytest.mark.parametrize(
    ("control", "finding", "waived"),
    [
        ("BH-8.1", "network legacy-net allows inter-container communication", True),
        ("BH-8.1", "network legacy-net [podman (rootful)] allows inter-container communication", True),
        ("BH-8.3", "container legacy-pay bridges zones pci and public", True),
        ("BH-8.3", "container api bridges zones pci and public", False),
        ("BH-8.1", "network shop-net allows inter-container communication", False),
        ("BH-8.5", "DOCKER-USER holds no Bulkhead rule (comment bulkhead:...)", False),
    ],
)
def test_section_8_findings_match_by_network_or_container_name(tmp_path, control, finding, waived):
    book = book_with(finding, control=control)
    text = f"- {{control: '{control}', container: 'legacy-*', justification: migration (NET-9), expires: 2027-01-01}}"
    apply_waivers(book, waivers_from(tmp_path, text), today=TODAY)
    assert (book.hosts["web-1"][control].outcome is Outcome.WAIVED) is waived


def test_a_group_waiver_needs_the_host_in_that_group(tmp_path):
    text = "waivers:\n- {control: '5.10', group: legacy, justification: x, expires: 2027-01-01}"
    waivers = waivers_from(tmp_path, text)
    book = book_with("container a: has no memory limit")
    apply_waivers(book, waivers, {"web-1": {"web"}}, today=TODAY)
    assert book.hosts["web-1"]["5.10"].outcome is Outcome.FAIL
    apply_waivers(book, waivers, {"web-1": {"legacy"}}, today=TODAY)
    assert book.hosts["web-1"]["5.10"].outcome is Outcome.WAIVED


def test_an_expired_waiver_stops_waiving_and_says_so(tmp_path):
    book = book_with("container legacy-db: has no memory limit")
    notes = apply_waivers(book, waivers_from(tmp_path, WAIVER), today=date(2027, 2, 1))
    result = book.hosts["web-1"]["5.10"]
    assert result.outcome is Outcome.FAIL
    assert result.notes == [
        "waiver #1 (5.10, host web-*, container legacy-*) expired on 2027-01-31 and no longer waives: "
        "container legacy-db: has no memory limit"
    ]
    assert notes == ["web-1: " + result.notes[0]]
    assert result.notes[0] in result.details


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- {control: '9.99', justification: x, expires: 2027-01-01}", "control '9.99' is not in the catalogue"),
        ("- {control: '5.10', expires: 2027-01-01}", "missing field 'justification'"),
        ("- {control: '5.10', justification: x}", "missing field 'expires'"),
        ("- {control: '5.10', justification: x, expires: soon}", "expires 'soon' is not a date"),
        ("- {control: '5.10', justification: x, expires: 2027-01-01, owner: me}", "unknown field(s) owner"),
        ("- {control: '5.10', justification: x, expires: 2027-01-01, host: a, group: b}", "not both"),
        ("control: 5.10", "expected a list of waivers"),
        ("- [", "not valid YAML"),
    ],
)
def test_bad_waiver_files_are_errors_naming_the_entry(tmp_path, text, message):
    with pytest.raises(WaiverError, match=r"waivers\.yml") as error:
        waivers_from(tmp_path, text)
    assert message in str(error.value)
