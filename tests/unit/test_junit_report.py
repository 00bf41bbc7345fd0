"""The JUnit report as CI consumers read it: valid against Jenkins' xUnit schema (junit-10.xsd, which
pytest's xunit2 family follows), hosts told apart, waived told apart from not applicable, times
rounded, control metadata where the schema allows it."""

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema

from bulkhead.catalogue import load_catalogue
from bulkhead.report.junit import junit_report
from bulkhead.results import Outcome, ResultBook

SCHEMA = xmlschema.XMLSchema(str(Path(__file__).parents[1] / "data" / "junit-10.xsd"))
CATALOGUE = load_catalogue()


def book_for(*hosts):
    book = ResultBook()
    for host in hosts:
        book.record(host, "2.2", Outcome.FAIL, "inter-container communication is enabled", 0.016199999999999954)
        book.record(host, "2.3", Outcome.PASS, None, 0.0021)
        book.record(host, "5.4", Outcome.NOT_APPLICABLE, "no running containers", 0.001)
        book.record(host, "5.10", Outcome.FAIL, "container web: no memory limit", 0.002)
        book.hosts[host]["5.10"].waive("container web: no memory limit", "vendor appliance (OPS-42), until 2027-03-31")
        book.record(host, "2.12", Outcome.ERROR, "cannot determine: docker_info: permission denied \x1b[0m", 0.003)
    return book


@pytest.fixture
def document():
    text = junit_report(book_for("web-1.example.com", "web-2.example.com"), CATALOGUE)
    SCHEMA.validate(text)  # raises with the offending element and rule
    return ET.fromstring(text)


def test_the_report_is_valid_against_the_junit_schema(document):
    assert document.tag == "testsuites"
    assert document.get("tests") == "10" and document.get("failures") == "2" and document.get("errors") == "2"


def test_testcase_properties_would_not_be_valid():
    """Why control metadata is not in testcase <properties>: the schema refuses them there."""
    document = ET.fromstring(junit_report(book_for("web-1"), CATALOGUE))
    testcase = document.find("testsuite/testcase")
    ET.SubElement(ET.SubElement(testcase, "properties"), "property", {"name": "control.id", "value": "2.2"})
    assert not SCHEMA.is_valid(ET.tostring(document, encoding="unicode"))


def test_the_host_is_in_every_classname_so_hosts_never_look_alike(document):
    cases = [(case.get("classname"), case.get("name")) for case in document.iter("testcase")]
    assert len(set(cases)) == len(cases) == 10
    assert ("bulkhead.web-1.example.com.section_2", "2.2 " + CATALOGUE["2.2"].title) in cases
    assert ("bulkhead.web-2.example.com.section_2", "2.2 " + CATALOGUE["2.2"].title) in cases
    suites = document.findall("testsuite")
    assert [suite.get("name") for suite in suites] == ["web-1.example.com", "web-2.example.com"]
    assert [suite.get("skipped") for suite in suites] == ["2", "2"]


def test_waived_and_not_applicable_are_told_apart(document):
    skipped = {
        case.get("name").split()[0]: case.find("skipped") for case in document.find("testsuite").iter("testcase")
    }
    waived, not_applicable = skipped["5.10"], skipped["5.4"]
    assert waived.get("type") == "waived"
    assert waived.get("message").startswith("waived: container web: no memory limit (waived: vendor appliance")
    assert not_applicable.get("type") == "not_applicable"
    assert not_applicable.get("message") == "not applicable: no running containers"
    assert skipped["2.2"] is None and skipped["2.3"] is None


def test_times_are_rounded_to_milliseconds(document):
    times = [case.get("time") for case in document.iter("testcase")] + [
        s.get("time") for s in document.iter("testsuite")
    ]
    assert "0.016" in times
    assert all(len(value.partition(".")[2]) == 3 for value in times), times


def test_control_metadata_is_the_testcase_system_out_and_host_facts_are_suite_properties(document):
    suite = document.find("testsuite")
    properties = {prop.get("name"): prop.get("value") for prop in suite.find("properties")}
    assert properties["bulkhead.host"] == "web-1.example.com"
    assert properties["bulkhead.fail"] == "1" and properties["bulkhead.waived"] == "1"
    case = suite.find("testcase")
    lines = dict(line.split(": ", 1) for line in case.find("system-out").text.splitlines())
    assert lines["control.id"] == "2.2"
    assert lines["control.severity"] == CATALOGUE["2.2"].severity
    assert lines["control.outcome"] == "fail"
    assert lines["host"] == "web-1.example.com"
    assert "cis_docker: 2.2" in lines["control.references"]
    failure = case.find("failure")
    assert failure.get("message") == "inter-container communication is enabled"


def test_characters_xml_cannot_hold_are_replaced(document):
    error = next(case for case in document.iter("testcase") if case.find("error") is not None).find("error")
    assert "\x1b" not in error.get("message") and "permission denied" in error.get("message")


def test_junit_and_json_count_the_same_outcomes():
    import json

    from bulkhead.report.jsondoc import json_report

    book = book_for("web-1", "web-2")
    document = ET.fromstring(junit_report(book, CATALOGUE))
    hosts = json.loads(json_report(book, CATALOGUE, {}))["hosts"]
    for suite in document.iter("testsuite"):
        counts = hosts[suite.get("name")]["summary"]
        assert int(suite.get("failures")) == counts["fail"]
        assert int(suite.get("errors")) == counts["error"]
        assert int(suite.get("skipped")) == counts["waived"] + counts["not_applicable"]
        assert int(suite.get("tests")) == sum(counts.values())
        seconds = {control["id"]: control["seconds"] for control in hosts[suite.get("name")]["controls"]}
        for case in suite.iter("testcase"):
            assert float(case.get("time")) == seconds[case.get("name").split()[0]]
