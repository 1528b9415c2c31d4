"""pip-audit over the two locks, with the waivers of pip-audit-waivers.txt; scripts/test.sh runs it.

Known vulnerabilities of every package pinned in the locks, read from the locks (nothing resolved or installed),
looked up on PyPI. A vulnerability fails the run. Where PyPI's page of each release cannot be read (pip-audit then
skips every package as "not found on PyPI", as behind a mirror that serves only the index), the run says the locks
were NOT audited and goes on; PIP_AUDIT_STRICT=1 makes that fail too.
"""

import json
import os
import subprocess
import sys

waived = {}
with open("pip-audit-waivers.txt", encoding="utf-8") as waivers:
    for number, line in enumerate(waivers, 1):
        if line.strip() and not line.lstrip().startswith("#"):
            vuln_id, _, reason = line.strip().partition(" ")
            if not reason.strip():
                sys.exit(f"pip-audit-waivers.txt:{number}: {vuln_id} is waived without a reason")
            waived[vuln_id] = reason.strip()
command = ["pip-audit", "--disable-pip", "--require-hashes", "-r", "requirements.lock", "-r", "requirements-dev.lock",
           "--progress-spinner", "off", "--format", "json", *(arg for vuln_id in waived for arg in ("--ignore-vuln", vuln_id))]
run = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 - our fixed command
try:
    packages = json.loads(run.stdout)["dependencies"]
except (ValueError, KeyError):
    packages = None
strict = os.environ.get("PIP_AUDIT_STRICT") == "1"
if packages is None:
    print(run.stderr, end="")
    print(f"pip-audit: could not run (exit {run.returncode}, the error above): the locks were NOT audited")
    sys.exit(1 if strict else 0)
found = [(package, vuln) for package in packages for vuln in package.get("vulns", [])]
for package, vuln in found:
    fixed = ", ".join(vuln["fix_versions"]) or "no fixed release"
    print(f"pip-audit: {package['name']} {package['version']}: {vuln['id']} {' '.join(vuln.get('aliases', []))} ({fixed})")
skipped = [package for package in packages if "skip_reason" in package]
audited = len(packages) - len(skipped)
print(f"pip-audit: {audited} of {len(packages)} pinned packages audited, {len(found)} known vulnerabilities, "
      f"{len(waived)} waived ({', '.join(waived) or 'none'})")
if skipped:
    print(f"pip-audit: {len(skipped)} packages NOT audited (it reads PyPI's JSON page of each release), "
          f"for example: {skipped[0]['skip_reason']}")
if run.returncode != 0 and not found:
    print(run.stderr, end="")
sys.exit(1 if found or run.returncode != 0 or (skipped and strict) else 0)
