// `kiln`: the command-line tool. Each subcommand lives in its own file and registers itself on
// the CLI11 app here; this file only dispatches and maps failures to exit codes:
//   0 success, 1 a user error ("kiln: error: ..." on stderr), 2 a usage error (CLI11's message).
#include <CLI/CLI.hpp>

#include "ir/op_registry.h"
#include "tools/common.h"

int main(int argc, char** argv) {
  kiln::RegisterAllOps();

  CLI::App app{
      "kiln: an ahead-of-time neural-network inference compiler.\n"
      "It optimises a model (text IR or a zoo model), generates code for it and builds one shared\n"
      "library per model, which `kiln run`, the C++ runtime (include/kiln/module.h) or any C\n"
      "program (include/kiln/module_abi.h) loads. Targets: cpu, cuda-sm90, cuda-sm80.",
      "kiln"};
  app.require_subcommand(1);
  app.footer(
      "Examples:\n"
      "  kiln compile zoo:resnet50 --batch 1 -o out/r50   build a model library\n"
      "  kiln run out/r50 --check                 run it, compare with the interpreter\n"
      "  kiln bench out/r50                       time it\n"
      "  kiln info                                list ops and zoo models\n"
      "  kiln info zoo:bert --batch 1 --seq 128   describe a model\n"
      "  kiln opt model.kir -o out.kir            parse, verify and print IR\n"
      "  kiln eval zoo:resnet50 --random          run a model on random input\n"
      "Run `kiln SUBCOMMAND --help` for a subcommand's options.");

  int exit_code = 0;
  kiln::tools::AddOptCommand(app, &exit_code);
  kiln::tools::AddInfoCommand(app, &exit_code);
  kiln::tools::AddEvalCommand(app, &exit_code);
  kiln::tools::AddCompileCommand(app, &exit_code);
  kiln::tools::AddRunCommand(app, &exit_code);
  kiln::tools::AddBenchCommand(app, &exit_code);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);  // prints CLI11's message and the hint to run --help
    return 2;
  }
  return exit_code;
}
