# lit configuration for every text-IR test (*.kir under tests/: ir/ round trips and parse
# errors, passes/ one pass each): each file's RUN lines feed it through `kiln opt` (with
# --pass=NAME for pass tests) and check the printed IR (or the error on stderr) with FileCheck.
#
#   lit -sv tests --param kiln_build_dir=build      (or KILN_BUILD_DIR=build lit -sv tests/passes)
#
# Substitutions: %kiln -> <build dir>/kiln; FileCheck -> the PyPI `filecheck` (the project's
# .venv first, then PATH), which implements LLVM FileCheck's CHECK/CHECK-NEXT/CHECK-LABEL syntax.
import os
import shutil

import lit.formats

config.name = "kiln"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".kir"]
config.test_source_root = os.path.dirname(os.path.abspath(__file__))
repo_root = os.path.dirname(config.test_source_root)

build_dir = lit_config.params.get("kiln_build_dir") or os.environ.get("KILN_BUILD_DIR")
if not build_dir:
    lit_config.fatal("say where kiln is built: --param kiln_build_dir=DIR or KILN_BUILD_DIR=DIR")
build_dir = os.path.abspath(build_dir)
kiln = os.path.join(build_dir, "kiln")
if not os.access(kiln, os.X_OK):
    lit_config.fatal("no kiln binary at %s (build the `kiln` target first)" % kiln)
# Scratch files of the tests go to the build tree, not the source tree.
config.test_exec_root = os.path.join(build_dir, "tests")

filecheck = None
for candidate in (os.path.join(repo_root, ".venv", "bin", "filecheck"),
                  shutil.which("filecheck"), shutil.which("FileCheck")):
    if candidate and os.access(candidate, os.X_OK):
        filecheck = candidate
        break
if filecheck is None:
    lit_config.fatal("FileCheck not found: pip install filecheck (scripts/requirements.txt)")

config.substitutions.append(("%kiln", kiln))
config.substitutions.append(("FileCheck", filecheck))
# Keep the tests independent of the caller's environment (e.g. IR dump directories).
config.environment.pop("KILN_DUMP_IR", None)
