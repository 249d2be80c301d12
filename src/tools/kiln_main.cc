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
      "Today it reads, checks and prints the text IR, describes models and runs them with the\n"
      "CPU reference interpreter; the compiler backends are not written yet.",
      "kiln"};
  app.require_subcommand(1);
  app.footer(
      "Examples:\n"
      "  kiln info                                list ops and zoo models\n"
      "  kiln info zoo:bert --batch 1 --seq 128   describe a model\n"
      "  kiln opt model.kir -o out.kir            parse, verify and print IR\n"
      "  kiln eval zoo:resnet50 --random          run a model on random input\n"
      "Run `kiln SUBCOMMAND --help` for a subcommand's options.");

  int exit_code = 0;
  kiln::tools::AddOptCommand(app, &exit_code);
  kiln::tools::AddInfoCommand(app, &exit_code);
  kiln::tools::AddEvalCommand(app, &exit_code);

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
