// Parser for the text IR (grammar and examples in docs/ir_text_format.md).
//
// The parser checks syntax, names (every operand defined above its use, no name defined twice,
// symbols declared) and attributes (against the op's schema, normalised with NormalizeAttrs). It
// keeps result types as written and does not run shape inference: Verify() (ir/verifier.h)
// checks them afterwards, so a parsed graph can show exactly what a pass produced.
#ifndef KILN_IR_PARSER_H_
#define KILN_IR_PARSER_H_

#include <string>
#include <string_view>

#include "ir/graph.h"

namespace kiln {

/// Parses one `graph @name(...) -> (...) { ... }` from `text`. Errors are ParseError statuses
/// "<source_name>:<line>:<col>: <what>, expected X, got Y"; no input makes it abort. Requires the
/// ops to be registered (RegisterAllOps()). Nodes remember their source line (Node::line()).
StatusOr<Graph> ParseGraph(std::string_view text, const std::string& source_name = "<input>");

}  // namespace kiln

#endif  // KILN_IR_PARSER_H_
