// CodeWriter: builds generated source text line by line with indentation, so emitters produce
// readable code without juggling whitespace.
//
//   CodeWriter w;
//   w.Open("for (int64_t i = 0; i < " + n + "; ++i) {");
//   w.Line("out0[i] = in0[i] > 0.f ? in0[i] : 0.f;");
//   w.Close();
#ifndef KILN_CODEGEN_CODE_WRITER_H_
#define KILN_CODEGEN_CODE_WRITER_H_

#include <string>
#include <string_view>

namespace kiln::codegen {

class CodeWriter {
 public:
  /// Appends `text` as one line at the current indentation (two spaces per level).
  void Line(std::string_view text);
  /// Appends an empty line.
  void Blank() { text_ += '\n'; }
  /// Appends `text` (normally ending in "{") and indents the following lines.
  void Open(std::string_view text);
  /// Dedents and appends "}" followed by `suffix` (e.g. ";" or " else {").
  void Close(std::string_view suffix = "");
  /// Appends already formatted lines verbatim, each indented at the current level.
  void Lines(std::string_view text);
  int indent() const { return indent_; }
  const std::string& str() const { return text_; }

 private:
  std::string text_;
  int indent_ = 0;
};

}  // namespace kiln::codegen

#endif  // KILN_CODEGEN_CODE_WRITER_H_
