"""Time the browser's magic wand (js/wand.js) at 2048 x 2048 in Chromium, as bench_wand_js.mjs does
under Node: the same module and the same benchmark body, evaluated in a blank headless page.

Run: ``python benchmarks/bench_wand_browser.py`` (needs Debian's ``chromium`` and the
``playwright`` package, as the browser tests do).
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def page_script() -> str:
    """wand.js and the Node benchmark as one expression that returns the printed lines."""
    module = (ROOT / "js" / "wand.js").read_text().replace("export class", "class")
    bench = (ROOT / "benchmarks" / "bench_wand_js.mjs").read_text()
    bench = re.sub(r"^import .*$", "", bench, flags=re.M)
    bench = bench.replace("Number(process.argv[2] || 2048)", "2048")
    bench = bench.replace("(node ${process.version})", "(Chromium)")
    bench = bench.replace("console.table(", "out.push(JSON.stringify(").replace(
        "console.log(", "out.push("
    )
    bench = re.sub(r"out\.push\(JSON\.stringify\((\w+)\);", r"out.push(JSON.stringify(\1));", bench)
    return f"(() => {{ const out = [];\n{module}\n{bench}\nreturn out; }})()"


def main() -> int:
    chromium = shutil.which("chromium")
    if chromium is None:
        print("chromium is not installed (bash scripts/setup_browser.sh)", file=sys.stderr)
        return 1
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--headless", "--no-sandbox"])
        try:
            lines = browser.new_page().evaluate(page_script())
            version = browser.version
        finally:
            browser.close()
    for line in lines:
        if line.startswith("["):
            rows = json.loads(line)
            print(" | ".join(rows[0]))
            for row in rows:
                print(" | ".join(str(v) for v in row.values()))
        else:
            print(line)
    print(f"chromium {version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
