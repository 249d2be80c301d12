#include "codegen/code_writer.h"

#include "support/check.h"

namespace kiln::codegen {

void CodeWriter::Line(std::string_view text) {
  if (!text.empty()) text_.append(static_cast<size_t>(indent_) * 2, ' ');
  text_ += text;
  text_ += '\n';
}

void CodeWriter::Open(std::string_view text) {
  Line(text);
  ++indent_;
}

void CodeWriter::Close(std::string_view suffix) {
  KILN_CHECK(indent_ > 0) << "CodeWriter::Close without a matching Open";
  --indent_;
  Line("}" + std::string(suffix));
}

void CodeWriter::Lines(std::string_view text) {
  while (!text.empty()) {
    size_t nl = text.find('\n');
    Line(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
}

}  // namespace kiln::codegen
