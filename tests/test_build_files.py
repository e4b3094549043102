"""Checks the Bazel BUILD files against the Python sources (no TensorFlow, no Bazel needed).

Every BUILD file is parsed with `ast` (Starlark calls are Python expressions), and the checker
fails if
  (a) a .py file in a package directory is not in the srcs of a target of that directory's BUILD,
  (b) a `test_*.py` file under tests/ is not the src of a `py_test`,
  (c) a target's deps miss an in-repo module that one of its srcs imports (imports are found
      here with `ast`, independently of tools/update_build_files.py),
  (d) a dep names a target that does not exist (or a pip package not in requirements.txt),
and on dependency cycles between libraries. Fix failures with
`python tools/update_build_files.py`.
"""

import ast
import os
import re
import shutil
import subprocess
import tempfile
import textwrap
import unittest
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
EXPECTED_TOP_LEVEL = ("agents", "launchers", "losses", "networks", "tests")
NOT_BUILT = frozenset({"benchmarks", "tools"})
RULES = frozenset({"py_library", "py_test", "py_binary"})


# --------------------------------------------------------------------------- tree


def top_level_packages(root):
  return sorted(p.name for p in root.iterdir()
                if p.is_dir() and not p.name.startswith(".") and p.name not in NOT_BUILT
                and (p / "__init__.py").is_file())


def python_dirs(root, tops):
  """Posix paths (relative to root) of the directories under `tops` holding .py files."""
  out = []
  for top in tops:
    for dirpath, dirnames, filenames in os.walk(root / top):
      dirnames[:] = [d for d in dirnames if d != "__pycache__" and not d.startswith(".")]
      if any(f.endswith(".py") for f in filenames):
        out.append(Path(dirpath).relative_to(root).as_posix())
  return sorted(out)


# --------------------------------------------------------------------------- BUILD parsing


class Target:

  def __init__(self, kind, package, name, srcs, deps, requirements, lineno):
    self.kind, self.package, self.name = kind, package, name
    self.srcs, self.deps, self.requirements = srcs, deps, requirements
    self.lineno = lineno

  @property
  def label(self):
    return short_label(self.package, self.name)


def short_label(package, name):
  """`//a/b` for `//a/b:b`, as buildifier writes it."""
  if package.rsplit("/", 1)[-1] == name:
    return f"//{package}"
  return f"//{package}:{name}"


def _strings(node, where, errors):
  """A list of string literals (and requirement("x") calls, returned as ("req", "x"))."""
  if not isinstance(node, ast.List):
    errors.append(f"{where}: expected a list literal")
    return []
  out = []
  for elt in node.elts:
    if isinstance(elt, ast.Constant) and isinstance(elt.value, str):
      out.append(elt.value)
    elif (isinstance(elt, ast.Call) and isinstance(elt.func, ast.Name)
          and elt.func.id == "requirement" and len(elt.args) == 1
          and isinstance(elt.args[0], ast.Constant)):
      out.append(("req", elt.args[0].value))
    else:
      errors.append(f"{where}: unsupported list element {ast.dump(elt)[:60]}")
  return out


def parse_build(root, package, errors):
  """Targets of `<package>/BUILD` (package "" is the root)."""
  build = root / package / "BUILD" if package else root / "BUILD"
  rel = build.relative_to(root).as_posix()
  try:
    tree = ast.parse(build.read_text(encoding="utf-8"), filename=rel)
  except SyntaxError as e:
    errors.append(f"{rel}: does not parse: {e}")
    return []
  targets = []
  for stmt in tree.body:
    if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)
            and isinstance(stmt.value.func, ast.Name)):
      continue
    call = stmt.value
    if call.func.id not in RULES:
      continue
    kw = {k.arg: k.value for k in call.keywords}
    where = f"{rel}:{stmt.lineno}"
    name_node = kw.get("name")
    if not (isinstance(name_node, ast.Constant) and isinstance(name_node.value, str)):
      errors.append(f"{where}: {call.func.id} without a literal name")
      continue
    srcs = _strings(kw["srcs"], where, errors) if "srcs" in kw else []
    deps = _strings(kw["deps"], where, errors) if "deps" in kw else []
    targets.append(Target(call.func.id, package, name_node.value,
                          [s for s in srcs if isinstance(s, str)],
                          [d for d in deps if isinstance(d, str)],
                          [d[1] for d in deps if isinstance(d, tuple)], stmt.lineno))
  return targets


def resolve_label(value, package):
  """(package, name) of an in-repo label, or None for an external one."""
  if value.startswith("@"):
    return None
  if value.startswith("//"):
    pkg, _, name = value[2:].partition(":")
    return pkg, name or pkg.rsplit("/", 1)[-1]
  return package, value[1:] if value.startswith(":") else value


def normalize_dist(name):
  return re.sub(r"[-_.]+", "-", name).lower()


def requirement_names(root):
  path = root / "requirements.txt"
  if not path.is_file():
    return set()
  names = set()
  for line in path.read_text(encoding="utf-8").splitlines():
    line = line.split("#", 1)[0].strip()
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", line)
    if match and not line.startswith("-"):
      names.add(normalize_dist(match.group(0)))
  return names


# --------------------------------------------------------------------------- imports


def imported_modules(path, module):
  """Dotted names imported by the file at `path`, whose module name is `module`.

  For `from a import b` both "a.b" and "a" are returned as candidates (first one that exists
  wins), so `b` may be a submodule or a name defined in a/__init__.py.
  """
  tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
  parts = module.split(".")
  package = parts[:-1] if path.name != "__init__.py" else parts
  found = []
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      found.extend([alias.name] for alias in node.names)
    elif isinstance(node, ast.ImportFrom):
      if node.level:
        up = node.level - 1
        if up > len(package):
          continue
        base = ".".join(package[:len(package) - up] + ([node.module] if node.module else []))
      else:
        base = node.module
      for alias in node.names:
        cands = [base + "." + alias.name, base] if alias.name != "*" else [base]
        found.append([c.strip(".") for c in cands if c.strip(".")])
  return [c for c in found if c]


def resolve_module(root, tops, dotted):
  """Repo path of the file (or namespace dir) that module `dotted` lives in, or None."""
  parts = dotted.split(".")
  if parts[0] not in tops:
    return None
  for i in range(len(parts), 0, -1):
    base = root.joinpath(*parts[:i])
    if base.with_name(base.name + ".py").is_file():
      return "/".join(parts[:i]) + ".py"
    if base.is_dir():
      init = base / "__init__.py"
      return "/".join(parts[:i]) + ("/__init__.py" if init.is_file() else "")
  return None


# --------------------------------------------------------------------------- checker


def check_tree(root):
  """All BUILD-file errors of the tree at `root`, as human-readable strings."""
  root = Path(root)
  errors = []
  tops = top_level_packages(root)
  dirs = python_dirs(root, tops)

  targets = {}  # (package, name) -> Target
  by_package = {}
  packages = list(dirs) + ([""] if (root / "BUILD").is_file() else [])
  for d in packages:
    if d and not (root / d / "BUILD").is_file():
      errors.append(f"{d}/BUILD: missing (the directory holds Python files)")
      by_package[d] = []
      continue
    parsed = parse_build(root, d, errors)
    by_package[d] = parsed
    for t in parsed:
      if (d, t.name) in targets:
        errors.append(f"{d}/BUILD:{t.lineno}: duplicate target name {t.name!r}")
      targets[(d, t.name)] = t

  owners = {}  # repo file path -> [targets whose srcs hold it]
  for t in targets.values():
    for s in t.srcs:
      owners.setdefault(f"{t.package}/{s}" if t.package else s, []).append(t)
      if not (root / t.package / s).is_file():
        errors.append(f"{t.package}/BUILD:{t.lineno}: {t.label} names missing src {s!r}")

  # (a) + (b): every file covered.
  for d in dirs:
    for f in sorted(p.name for p in (root / d).iterdir() if p.name.endswith(".py")):
      path = f"{d}/{f}"
      covering = owners.get(path, [])
      if not covering:
        errors.append(f"{d}/BUILD: {path} is not in the srcs of any target")
      is_test = f.startswith("test_") and d.split("/")[0] == "tests"
      if is_test and not any(t.kind == "py_test" and t.srcs == [f] for t in covering):
        errors.append(f"{d}/BUILD: {path} has no py_test (expected py_test(name = "
                      f"\"{f[:-3]}\", srcs = [\"{f}\"]))")

  # (d): deps exist, are libraries, pip packages are pinned.
  known_dists = requirement_names(root)
  resolved_deps = {}
  for key, t in sorted(targets.items()):
    resolved_deps[key] = []
    for dep in t.deps:
      dep_key = resolve_label(dep, t.package)
      if dep_key is None:
        continue
      if dep_key not in targets:
        errors.append(f"{t.package}/BUILD:{t.lineno}: {t.label} depends on {dep}, "
                      "which is not a target")
      elif targets[dep_key].kind != "py_library":
        errors.append(f"{t.package}/BUILD:{t.lineno}: {t.label} depends on {dep}, "
                      f"a {targets[dep_key].kind}; deps must be py_library targets")
      else:
        resolved_deps[key].append(dep_key)
    for req in t.requirements:
      if normalize_dist(req) not in known_dists:
        errors.append(f"{t.package}/BUILD:{t.lineno}: {t.label} depends on "
                      f"requirement({req!r}), which is not in requirements.txt")

  # (c): every in-repo import is provided by the target itself or a direct dep.
  for key, t in sorted(targets.items()):
    provided = {f"{t.package}/{s}" for s in t.srcs}
    provided_dirs = {t.package}
    for dep_key in resolved_deps[key]:
      dep = targets[dep_key]
      provided |= {f"{dep.package}/{s}" for s in dep.srcs}
      provided_dirs.add(dep.package)
    for src in t.srcs:
      path = root / t.package / src
      if not path.is_file() or not src.endswith(".py"):
        continue
      module = f"{t.package}/{src}"[:-3].replace("/", ".")
      try:
        imports = imported_modules(path, module)
      except SyntaxError as e:
        errors.append(f"{t.package}/{src}: does not parse: {e}")
        continue
      for cands in imports:
        for cand in cands:
          found = resolve_module(root, tops, cand)
          if found:
            break
        else:
          continue  # third-party, standard library, or not a file
        ok = (found in provided) if found.endswith(".py") else (found in provided_dirs)
        if ok:
          continue
        libs = [o for o in owners.get(found, []) if o.kind == "py_library"]
        want = (" or ".join(o.label for o in libs) if libs
                else f"a py_library with {found} in its srcs (none exists)")
        errors.append(f"{t.package}/BUILD:{t.lineno}: {t.label} is missing dep {want} "
                      f"({t.package}/{src} imports {cands[0]})")

  # Cycles between libraries (Bazel rejects them).
  state = {}

  def visit(node, stack):
    state[node] = 1
    stack.append(node)
    for dep in resolved_deps.get(node, ()):
      if state.get(dep) == 1:
        cycle = stack[stack.index(dep):] + [dep]
        errors.append("dependency cycle: " + " -> ".join(short_label(p, n) for p, n in cycle))
      elif dep not in state:
        visit(dep, stack)
    stack.pop()
    state[node] = 2

  for node in sorted(resolved_deps):
    if node not in state:
      visit(node, [])
  return errors


def find_buildifier():
  for c in (os.environ.get("BUILDIFIER"), shutil.which("buildifier"),
            "/tmp/buildifier/node_modules/.bin/buildifier"):
    if c and os.path.isfile(c) and os.access(c, os.X_OK):
      return c
  return None


# --------------------------------------------------------------------------- tests


class RepoBuildFilesTest(unittest.TestCase):

  def test_expected_packages_are_checked(self):
    tops = top_level_packages(REPO_ROOT)
    for name in EXPECTED_TOP_LEVEL:
      if (REPO_ROOT / name).is_dir():
        self.assertIn(name, tops)

  def test_build_files_match_sources(self):
    errors = check_tree(REPO_ROOT)
    self.assertEqual(errors, [], "\n" + "\n".join(errors)
                     + "\nrun `python tools/update_build_files.py`")

  def test_module_bazel_uses_pip_hub(self):
    text = (REPO_ROOT / "MODULE.bazel").read_text(encoding="utf-8")
    self.assertIn('bazel_dep(name = "rules_python"', text)
    self.assertIn('hub_name = "pip"', text)
    self.assertIn('requirements_lock = "//:requirements.txt"', text)

  def test_buildifier_formatting(self):
    buildifier = find_buildifier()
    if buildifier is None:
      self.skipTest("buildifier not installed (npm install --prefix /tmp/buildifier "
                    "@bazel/buildifier)")
    files = sorted(str(p) for d in [""] + python_dirs(REPO_ROOT, top_level_packages(REPO_ROOT))
                   for p in [REPO_ROOT / d / "BUILD"] if p.is_file())
    files.append(str(REPO_ROOT / "MODULE.bazel"))
    result = subprocess.run([buildifier, "-mode=check", *files], capture_output=True,
                            text=True, check=False)
    self.assertEqual(result.returncode, 0, result.stdout + result.stderr)


def _write(root, files):
  for rel, text in files.items():
    path = Path(root) / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")


_GOOD_TREE = {
    "requirements.txt": "numpy==1.26.4\nabsl-py==2.1.0\n",
    "BUILD": "",
    "alpha/__init__.py": "",
    "alpha/core.py": "import numpy as np\nfrom beta import util\n",
    "alpha/extra.py": "from . import core\n",
    "alpha/BUILD": """\
        py_library(
            name = "alpha",
            srcs = ["__init__.py", "core.py", "extra.py"],
            deps = ["//beta", requirement("numpy")],
        )
        """,
    "beta/__init__.py": "",
    "beta/util.py": "import os\n",
    "beta/BUILD": 'py_library(name = "beta", srcs = ["__init__.py", "util.py"])\n',
    "tests/__init__.py": "",
    "tests/alpha/__init__.py": "",
    "tests/alpha/test_core.py": "from absl.testing import absltest\nimport alpha.core\n",
    "tests/BUILD": 'py_library(name = "tests", testonly = True, srcs = ["__init__.py"])\n',
    "tests/alpha/BUILD": """\
        py_library(name = "alpha", testonly = True, srcs = ["__init__.py"])
        py_test(name = "test_core", srcs = ["test_core.py"],
                deps = ["//alpha", requirement("absl-py")])
        """,
    "benchmarks/script.py": "import alpha\n",  # not part of the build
}


class CheckerTest(unittest.TestCase):
  """The checker on small fake trees: it accepts a correct one and names each defect."""

  def _check(self, overrides=None, removals=()):
    files = dict(_GOOD_TREE)
    files.update(overrides or {})
    for r in removals:
      files.pop(r)
    with tempfile.TemporaryDirectory() as tmp:
      _write(tmp, files)
      return check_tree(tmp)

  def _assert_error(self, errors, *fragments):
    self.assertTrue(any(all(f in e for f in fragments) for e in errors),
                    f"no error containing {fragments} in:\n" + "\n".join(errors))

  def test_good_tree_passes(self):
    self.assertEqual(self._check(), [])

  def test_missing_module(self):
    errors = self._check({"alpha/new.py": "x = 1\n"})
    self._assert_error(errors, "alpha/BUILD", "alpha/new.py is not in the srcs")

  def test_missing_in_repo_dep(self):
    errors = self._check({"alpha/BUILD": """\
        py_library(name = "alpha", srcs = ["__init__.py", "core.py", "extra.py"],
                   deps = [requirement("numpy")])
        """})
    self._assert_error(errors, "//alpha is missing dep //beta ",
                       "alpha/core.py imports beta.util")

  def test_missing_dep_of_test(self):
    errors = self._check({"tests/alpha/BUILD": """\
        py_library(name = "alpha", testonly = True, srcs = ["__init__.py"])
        py_test(name = "test_core", srcs = ["test_core.py"])
        """})
    self._assert_error(errors, "//tests/alpha:test_core is missing dep //alpha ")

  def test_test_file_without_py_test(self):
    errors = self._check({"tests/alpha/BUILD": """\
        py_library(name = "alpha", testonly = True,
                   srcs = ["__init__.py", "test_core.py"], deps = ["//alpha"])
        """})
    self._assert_error(errors, "tests/alpha/test_core.py has no py_test")

  def test_dep_on_missing_target(self):
    errors = self._check({"beta/BUILD": """\
        py_library(name = "beta", srcs = ["__init__.py", "util.py"], deps = ["//gamma"])
        """})
    self._assert_error(errors, "//beta depends on //gamma", "not a target")

  def test_unpinned_requirement(self):
    errors = self._check({"beta/BUILD": """\
        py_library(name = "beta", srcs = ["__init__.py", "util.py"],
                   deps = [requirement("scipy")])
        """})
    self._assert_error(errors, "requirement('scipy')", "not in requirements.txt")

  def test_missing_build_file(self):
    errors = self._check({"gamma/__init__.py": ""})
    self._assert_error(errors, "gamma/BUILD: missing")

  def test_relative_import_and_from_import_of_module(self):
    # alpha/extra.py does `from . import core`: satisfied by its own srcs; dropping core.py
    # from srcs reports both the uncovered file and the unsatisfied import.
    errors = self._check({"alpha/BUILD": """\
        py_library(name = "alpha", srcs = ["__init__.py", "extra.py"],
                   deps = ["//beta", requirement("numpy")])
        """})
    self._assert_error(errors, "alpha/core.py is not in the srcs")
    self._assert_error(errors, "missing dep a py_library with alpha/core.py",
                       "alpha/extra.py imports alpha.core")

  def test_cycle(self):
    errors = self._check({
        "beta/util.py": "import alpha\n",
        "beta/BUILD": 'py_library(name = "beta", srcs = ["__init__.py", "util.py"], '
                      'deps = ["//alpha"])\n',
    })
    self._assert_error(errors, "dependency cycle")


if __name__ == "__main__":
  unittest.main()
