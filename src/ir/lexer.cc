#include "ir/lexer.h"

#include <cstdio>

namespace kiln {
namespace {

bool IsIdentStart(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsIdentChar(char c) { return IsIdentStart(c) || IsDigit(c); }
bool IsNameChar(char c) { return IsIdentChar(c) || c == '.'; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A character for messages: printable ASCII as itself, anything else as \xHH.
std::string ShowChar(char c) {
  if (c >= 0x20 && c < 0x7f) return std::string(1, c);
  char buf[8];
  std::snprintf(buf, sizeof(buf), "\\x%02x", static_cast<unsigned char>(c));
  return buf;
}

class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  std::vector<Token> Run() {
    std::vector<Token> tokens;
    while (true) {
      SkipSpaceAndComments();
      Token t = Next();
      TokenKind kind = t.kind;
      tokens.push_back(std::move(t));
      if (kind == TokenKind::kEnd || kind == TokenKind::kError) return tokens;
    }
  }

 private:
  char At(size_t i) const { return i < text_.size() ? text_[i] : '\0'; }
  bool Done() const { return pos_ >= text_.size(); }

  void Advance() {
    if (text_[pos_] == '\n') {
      ++line_;
      col_ = 1;
    } else {
      ++col_;
    }
    ++pos_;
  }

  void SkipSpaceAndComments() {
    while (!Done()) {
      char c = text_[pos_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        Advance();
      } else if (c == '/' && At(pos_ + 1) == '/') {
        while (!Done() && text_[pos_] != '\n') Advance();
      } else {
        return;
      }
    }
  }

  Token Start(TokenKind kind) {
    Token t;
    t.kind = kind;
    t.line = line_;
    t.col = col_;
    t.begin = pos_;
    return t;
  }

  Token Finish(Token t) {
    t.end = pos_;
    if (t.kind != TokenKind::kString && t.kind != TokenKind::kValueName &&
        t.kind != TokenKind::kGraphName && t.kind != TokenKind::kError) {
      t.text = std::string(text_.substr(t.begin, t.end - t.begin));
    }
    return t;
  }

  Token Error(Token t, std::string message) {
    t.kind = TokenKind::kError;
    t.text = std::move(message);
    t.end = pos_;
    return t;
  }

  Token Next() {
    Token t = Start(TokenKind::kEnd);
    if (Done()) return Finish(t);
    char c = text_[pos_];
    auto single = [&](TokenKind kind) {
      t.kind = kind;
      Advance();
      return Finish(t);
    };
    switch (c) {
      case '(': return single(TokenKind::kLParen);
      case ')': return single(TokenKind::kRParen);
      case '[': return single(TokenKind::kLBracket);
      case ']': return single(TokenKind::kRBracket);
      case '{': return single(TokenKind::kLBrace);
      case '}': return single(TokenKind::kRBrace);
      case ',': return single(TokenKind::kComma);
      case ':': return single(TokenKind::kColon);
      case '=': return single(TokenKind::kEquals);
      case '+': return single(TokenKind::kPlus);
      case '*': return single(TokenKind::kStar);
      case '-':
        if (At(pos_ + 1) == '>') {
          Advance();
          return single(TokenKind::kArrow);
        }
        return single(TokenKind::kMinus);
      case '"': return LexString(t);
      case '%': return LexName(t, TokenKind::kValueName);
      case '@': return LexName(t, TokenKind::kGraphName);
      default: break;
    }
    if (IsDigit(c)) return LexNumber(t);
    if (IsIdentStart(c)) {
      t.kind = TokenKind::kIdent;
      while (!Done() && IsIdentChar(text_[pos_])) Advance();
      return Finish(t);
    }
    Advance();
    return Error(t, "unexpected character '" + ShowChar(c) + "', expected a token");
  }

  Token LexNumber(Token t) {
    t.kind = TokenKind::kInt;
    while (!Done() && IsDigit(text_[pos_])) Advance();
    if (At(pos_) == '.') {
      t.kind = TokenKind::kFloat;
      Advance();
      while (!Done() && IsDigit(text_[pos_])) Advance();
    }
    char e = At(pos_);
    if (e == 'e' || e == 'E') {
      size_t digits = pos_ + 1;
      if (At(digits) == '+' || At(digits) == '-') ++digits;
      if (IsDigit(At(digits))) {
        t.kind = TokenKind::kFloat;
        while (pos_ < digits) Advance();
        while (!Done() && IsDigit(text_[pos_])) Advance();
      }
    }
    if (!Done() && IsIdentChar(text_[pos_])) {
      Advance();
      return Error(t, "malformed number '" + std::string(text_.substr(t.begin, pos_ - t.begin)) +
                          "', expected digits, '.' or an exponent");
    }
    return Finish(t);
  }

  // %name / @name, or %"any text" / @"any text" for names outside [A-Za-z0-9_.].
  Token LexName(Token t, TokenKind kind) {
    const char sigil = text_[pos_];
    Advance();
    if (At(pos_) == '"') {
      Token s = LexString(Start(TokenKind::kString));
      if (s.kind == TokenKind::kError) return s;
      t.kind = kind;
      t.text = std::move(s.text);
      return Finish(t);
    }
    size_t begin = pos_;
    while (!Done() && IsNameChar(text_[pos_])) Advance();
    if (pos_ == begin) {
      return Error(t, std::string("expected a name after '") + sigil + "', got " +
                          (Done() ? "end of input" : "'" + ShowChar(text_[pos_]) + "'"));
    }
    t.kind = kind;
    t.text = std::string(text_.substr(begin, pos_ - begin));
    return Finish(t);
  }

  Token LexString(Token t) {
    t.kind = TokenKind::kString;
    Advance();  // opening quote
    std::string value;
    while (true) {
      if (Done() || text_[pos_] == '\n') {
        return Error(t, std::string("unterminated string, expected a closing '\"', got ") +
                            (Done() ? "end of input" : "end of line"));
      }
      char c = text_[pos_];
      if (c == '"') {
        Advance();
        break;
      }
      if (c != '\\') {
        value += c;
        Advance();
        continue;
      }
      Token esc = Start(TokenKind::kError);
      Advance();
      char e = At(pos_);
      if (e == 'x' && HexValue(At(pos_ + 1)) >= 0 && HexValue(At(pos_ + 2)) >= 0) {
        value += static_cast<char>(HexValue(At(pos_ + 1)) * 16 + HexValue(At(pos_ + 2)));
        for (int i = 0; i < 3; ++i) Advance();
        continue;
      }
      switch (e) {
        case '"': value += '"'; break;
        case '\\': value += '\\'; break;
        case 'n': value += '\n'; break;
        case 't': value += '\t'; break;
        case 'r': value += '\r'; break;
        default:
          if (!Done() && e != '\n') Advance();
          return Error(esc, "unknown escape '\\" + (Done() || e == '\n' ? "" : ShowChar(e)) +
                                "' in string, expected one of \\\" \\\\ \\n \\t \\r \\xHH");
      }
      Advance();
    }
    t.text = std::move(value);
    return Finish(t);
  }

  std::string_view text_;
  size_t pos_ = 0;
  int line_ = 1;
  int col_ = 1;
};

}  // namespace

std::vector<Token> Tokenize(std::string_view text) { return Lexer(text).Run(); }

std::string DescribeToken(const Token& token) {
  switch (token.kind) {
    case TokenKind::kEnd: return "end of input";
    case TokenKind::kError: return "an invalid token";
    case TokenKind::kValueName:
      return "%" + (IsBareName(token.text) ? token.text : QuoteString(token.text));
    case TokenKind::kGraphName:
      return "@" + (IsBareName(token.text) ? token.text : QuoteString(token.text));
    case TokenKind::kString: return "string " + QuoteString(token.text);
    case TokenKind::kInt:
    case TokenKind::kFloat: return token.text;
    default: return "'" + token.text + "'";
  }
}

bool IsBareName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!IsNameChar(c)) return false;
  }
  return true;
}

std::string QuoteString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\x%02x", static_cast<unsigned char>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

}  // namespace kiln
