// Lexer for the text IR (docs/ir_text_format.md): splits text into tokens with 1-based line and
// column. Used by the parser only; exposed so its tests can look at the tokens.
#ifndef KILN_IR_LEXER_H_
#define KILN_IR_LEXER_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace kiln {

enum class TokenKind {
  kEnd,        // end of input
  kError,      // a lexical error; `text` is the message (the parser reports it when reached)
  kIdent,      // [A-Za-z_][A-Za-z0-9_]*: ops, attribute names, dtypes, symbols, keywords
  kValueName,  // %name or %"quoted"; `text` is the name without the sigil, unescaped
  kGraphName,  // @name or @"quoted"
  kInt,        // [0-9]+ (no sign: '-' is its own token so `S-1` lexes as S, -, 1)
  kFloat,      // digits with a '.' and/or an exponent: 0.5, 1e-05, 3.4e+38
  kString,     // "..." with escapes; `text` is the unescaped contents
  kLParen,
  kRParen,
  kLBracket,
  kRBracket,
  kLBrace,
  kRBrace,
  kComma,
  kColon,
  kEquals,
  kArrow,  // ->
  kPlus,
  kMinus,
  kStar,
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  std::string text;
  int line = 1;
  int col = 1;
  /// Byte offsets of the token in the source: [begin, end).
  size_t begin = 0;
  size_t end = 0;
};

/// Tokenizes all of `text`, skipping whitespace and `//` comments. The result always ends with
/// one kEnd token, or with one kError token at the first lexical error (unterminated string,
/// bad escape, stray character), so the parser reports errors in text order.
std::vector<Token> Tokenize(std::string_view text);

/// How a token reads in "got ..." messages: 'conv2d', %x, @g, "str", 42, ',', end of input.
std::string DescribeToken(const Token& token);

/// True for names that print bare after % or @: one or more of [A-Za-z0-9_.].
bool IsBareName(std::string_view name);

/// `"..."` with \" \\ \n \t \r and \xHH for other control bytes (the lexer's inverse).
std::string QuoteString(std::string_view s);

}  // namespace kiln

#endif  // KILN_IR_LEXER_H_
