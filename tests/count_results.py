#!/usr/bin/env python3
"""Counts test cases from the JUnit XML that every Bazel test leaves.

Usage: count_results.py TESTLOGS_DIR BAZEL_OUTPUT [--extra=NAME=pass|fail]...

BAZEL_OUTPUT is what `bazel test` printed; its summary lines give each
target's status.

Each case in each test.xml counts once: passed, failed (a <failure> or
<error>) or skipped (result="skipped" or a <skipped> element). A target
that Bazel reports as failed but whose XML shows no failed case (a crash, a
time-out, no XML at all) counts as one failed case of its own, so that a
broken test can never vanish from the count. Prints the failed and skipped
cases, the number skipped, then one last line: "N passed, N failed".
"""

import os
import re
import sys
import xml.etree.ElementTree as ElementTree


def count_xml(path):
    passed, failed, skipped = [], [], []
    root = ElementTree.parse(path).getroot()
    for case in root.iter("testcase"):
        name = "%s.%s" % (case.get("classname", ""), case.get("name", ""))
        if case.find("failure") is not None or case.find("error") is not None:
            failed.append(name)
        elif (case.get("result") == "skipped" or
              case.find("skipped") is not None):
            message = case.find("skipped")
            why = message.get("message", "") if message is not None else ""
            skipped.append("%s (%s)" % (name, why) if why else name)
        else:
            passed.append(name)
    return passed, failed, skipped


SUMMARY = re.compile(r"^(//\S+)\s+(?:\(cached\)\s+)?"
                     r"(PASSED|FAILED TO BUILD|FAILED|TIMEOUT|FLAKY|"
                     r"NO STATUS|INCOMPLETE|SKIPPED)\b")


def target_statuses(bazel_output):
    statuses = {}
    with open(bazel_output, errors="replace") as lines:
        for line in lines:
            match = SUMMARY.match(line)
            if match:
                statuses[match.group(1)] = match.group(2)
    return statuses


def main(argv):
    logs, bazel_output = argv[1], argv[2]
    passed, failed, skipped = [], [], []
    for arg in argv[3:]:
        name, _, result = arg[len("--extra="):].rpartition("=")
        (passed if result == "pass" else failed).append(name)
    statuses = target_statuses(bazel_output)
    if not statuses:
        failed.append("bazel test (no test ran; see the output above)")
    for target, status in sorted(statuses.items()):
        package, _, name = target.lstrip("/").partition(":")
        xml = os.path.join(logs, package, name, "test.xml")
        p, f, s = [], [], []
        if os.path.exists(xml):
            try:
                p, f, s = count_xml(xml)
            except ElementTree.ParseError as e:
                f = ["%s (unreadable test.xml: %s)" % (target, e)]
        if status != "PASSED" and not f:
            f = ["%s (%s)" % (target, status)]
        passed += p
        failed += f
        skipped += s
    for name in failed:
        print("FAILED: " + name)
    for name in skipped:
        print("SKIPPED: " + name)
    # Skipped cases are neither passed nor failed; the last line is the
    # one CI reads.
    print("%d skipped" % len(skipped))
    print("%d passed, %d failed" % (len(passed), len(failed)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
