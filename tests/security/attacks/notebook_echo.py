"""Print the outputs stored in the submitted notebook (HTML and JavaScript included)."""

import json

with open("analysis.ipynb", encoding="utf-8") as fh:
    notebook = json.load(fh)
print("<b>notebook</b> outputs follow")
for cell in notebook.get("cells", []):
    for output in cell.get("outputs", []):
        for lines in output.get("data", {}).values():
            print("".join(lines) if isinstance(lines, list) else lines)
        print("".join(output.get("text", [])))
