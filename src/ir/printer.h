// Printer for the text IR (grammar and examples in docs/ir_text_format.md). The output is
// canonical: ParseGraph(PrintGraph(g)) is StructurallyEqual to g, and printing the parsed graph
// again gives the same text byte for byte.
#ifndef KILN_IR_PRINTER_H_
#define KILN_IR_PRINTER_H_

#include <string>

#include "ir/graph.h"

namespace kiln {

/// The whole graph: header (inputs, outputs, `where` clause when it has symbols), one node per
/// line indented by two spaces per nesting level, closing brace and a trailing newline.
std::string PrintGraph(const Graph& graph);

/// One node as it appears in a graph body, without indentation or newline (a fusion body spans
/// several lines, indented as at the top level). For error messages and debugging.
std::string PrintNode(const Node& node);

/// A float that re-parses as a float: shortest round-trip digits, with ".0" appended when they
/// contain no '.', exponent or inf/nan (so 1.0 prints "1.0", 1e-5 prints "1e-05").
std::string FormatFloat(double value);

}  // namespace kiln

#endif  // KILN_IR_PRINTER_H_
