"""Build an .ipynb from a percent-format source: '# %%' code, '# %% [markdown]' markdown,
'# %% tags=["parameters"]' tags."""
import json, re, sys
import nbformat
src, dst = sys.argv[1], sys.argv[2]
cells = []
cur = None
for line in open(src).read().splitlines():
    m = re.match(r'^# %%( \[markdown\])?( tags=(\[.*\]))?\s*$', line)
    if m:
        if cur: cells.append(cur)
        cur = {"md": bool(m.group(1)), "tags": json.loads(m.group(3)) if m.group(3) else [], "lines": []}
        continue
    cur["lines"].append(line)
cells.append(cur)
nb = nbformat.v4.new_notebook()
nb.metadata = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
               "language_info": {"name": "python"}}
for c in cells:
    lines = c["lines"]
    while lines and not lines[0].strip(): lines.pop(0)
    while lines and not lines[-1].strip(): lines.pop()
    if c["md"]:
        text = "\n".join(l[2:] if l.startswith("# ") else l[1:] if l.startswith("#") else l for l in lines)
        cell = nbformat.v4.new_markdown_cell(text)
    else:
        cell = nbformat.v4.new_code_cell("\n".join(lines))
    if c["tags"]: cell.metadata["tags"] = c["tags"]
    nb.cells.append(cell)
for i, c in enumerate(nb.cells):
    c["id"] = f"c{i:02d}"
nbformat.write(nb, dst)
