"""Compliance reports built from a ResultBook: JUnit (CI systems), JSON (dashboards), HTML (people),
the terminal summary and the comparison of two reports.

Reports carry only what the checks wrote as reasons and the catalogue's own text: no state the
collector gathered is copied in, which is what keeps container environments and keys out.
"""
