#include "ir/parser.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <utility>
#include <variant>

#include "ir/lexer.h"

namespace kiln {
namespace {

// Bounds recursion (nested graphs, parenthesised or negated dims) so hostile input cannot
// overflow the stack.
constexpr int kMaxDepth = 64;
// Attribute values quoted in messages are cut to this many characters.
constexpr size_t kMaxQuote = 60;

const char kDTypeList[] = "f32, f16, bf16, i64, i32, i8, u8, bool, f8e4m3, f8e5m2";
const char kEpilogueList[] = "bias, relu, gelu, gelu_tanh, silu, sigmoid, tanh, add, scale, cast";

// Where a value was defined, for "redefined value" messages.
using Definitions = std::map<std::string, std::pair<int, int>>;

// One parsed `name=value`: the name token and the value's source text range.
struct AttrPlace {
  Token name;
  size_t begin = 0;
  size_t end = 0;
};

std::string LocString(int line, int col) {
  return std::to_string(line) + ":" + std::to_string(col);
}

class Parser {
 public:
  Parser(std::string_view text, std::string source)
      : text_(text), source_(std::move(source)), toks_(Tokenize(text)) {}

  StatusOr<Graph> ParseTop() {
    KILN_ASSIGN_OR_RETURN(Graph g, ParseGraphDef(nullptr, 0));
    if (!At(TokenKind::kEnd)) return Unexpected(Peek(), "end of input after the graph");
    return g;
  }

 private:
  // ---------------------------------------------------------------- tokens and errors

  // The token list ends with kEnd or kError; reading never moves past it.
  const Token& Peek(size_t k = 0) const { return toks_[std::min(pos_ + k, toks_.size() - 1)]; }
  Token Take() {
    Token t = Peek();
    if (pos_ + 1 < toks_.size()) ++pos_;
    return t;
  }
  bool At(TokenKind kind) const { return Peek().kind == kind; }
  bool AtIdent(std::string_view text) const {
    return Peek().kind == TokenKind::kIdent && Peek().text == text;
  }

  // A lexical error token reports its own message wherever the parser trips over it.
  Status ErrorAt(const Token& at, const std::string& message) const {
    const std::string& what = at.kind == TokenKind::kError ? at.text : message;
    return ParseError(source_ + ":" + LocString(at.line, at.col) + ": " + what);
  }
  Status Unexpected(const Token& at, const std::string& expected) const {
    return ErrorAt(at, "unexpected token, expected " + expected + ", got " + DescribeToken(at));
  }
  Status Expect(TokenKind kind, const std::string& expected, Token* out = nullptr) {
    if (!At(kind)) return Unexpected(Peek(), expected);
    Token t = Take();
    if (out) *out = std::move(t);
    return Status::Ok();
  }
  // True (and consumes it) when the next token is `kind`.
  bool Accept(TokenKind kind) {
    if (!At(kind)) return false;
    Take();
    return true;
  }

  // ---------------------------------------------------------------- numbers

  // An integer literal, negated if `negative`, range-checked to int64.
  Status IntValue(const Token& t, bool negative, int64_t* out) const {
    uint64_t magnitude = 0;
    auto [ptr, ec] = std::from_chars(t.text.data(), t.text.data() + t.text.size(), magnitude);
    const uint64_t limit = uint64_t{1} << 63;  // |INT64_MIN|
    if (ec != std::errc() || magnitude > limit || (!negative && magnitude == limit)) {
      return ErrorAt(t, "integer out of range, expected a 64-bit signed integer, got " +
                            std::string(negative ? "-" : "") + t.text);
    }
    *out = negative ? static_cast<int64_t>(0 - magnitude) : static_cast<int64_t>(magnitude);
    return Status::Ok();
  }

  Status SignedInt(const std::string& expected, int64_t* out) {
    bool negative = Accept(TokenKind::kMinus);
    if (!At(TokenKind::kInt)) return Unexpected(Peek(), expected);
    return IntValue(Take(), negative, out);
  }

  bool AtFloatStart() const {
    size_t k = At(TokenKind::kMinus) ? 1 : 0;
    const Token& t = Peek(k);
    return t.kind == TokenKind::kFloat ||
           (t.kind == TokenKind::kIdent && (t.text == "inf" || t.text == "nan"));
  }

  // [-] int | float | inf | nan.
  StatusOr<std::variant<int64_t, double>> Number() {
    bool negative = Accept(TokenKind::kMinus);
    Token t = Peek();
    if (t.kind == TokenKind::kInt) {
      int64_t v = 0;
      KILN_RETURN_IF_ERROR(IntValue(Take(), negative, &v));
      return std::variant<int64_t, double>(v);
    }
    double v = 0;
    if (t.kind == TokenKind::kFloat) {
      auto [ptr, ec] = std::from_chars(t.text.data(), t.text.data() + t.text.size(), v);
      if (ec != std::errc()) {
        return ErrorAt(t, "float out of range, expected a finite double, got " + t.text);
      }
    } else if (t.kind == TokenKind::kIdent && t.text == "inf") {
      v = std::numeric_limits<double>::infinity();
    } else if (t.kind == TokenKind::kIdent && t.text == "nan") {
      v = std::numeric_limits<double>::quiet_NaN();
    } else {
      return Unexpected(t, "a number");
    }
    Take();
    return std::variant<int64_t, double>(negative ? -v : v);
  }

  StatusOr<double> Double() {
    KILN_ASSIGN_OR_RETURN(auto n, Number());
    if (auto* i = std::get_if<int64_t>(&n)) return static_cast<double>(*i);
    return std::get<double>(n);
  }

  // ---------------------------------------------------------------- dims and types

  // dim := term (('+' | '-') term)*;  term := factor ('*' factor)*;
  // factor := '-' factor | integer | symbol | '(' dim ')'.
  StatusOr<Dim> DimExpr(int depth) {
    const Token& start = Peek();
    KILN_ASSIGN_OR_RETURN(Bounded d, DimSum(depth));
    // Every coefficient is at most the bound, so the Dim arithmetic above could not overflow.
    if (d.bound > kMaxCoefficient) {
      return ErrorAt(start, "bad dim expression, expected coefficients below 2^62, got a larger "
                            "one");
    }
    return d.dim;
  }

  // A dim with an upper bound on the sum of its coefficients' magnitudes, tracked in double so
  // that oversized literals are refused before Dim's int64 arithmetic can overflow.
  struct Bounded {
    Dim dim;
    double bound = 0;
  };
  static constexpr double kMaxCoefficient = 4611686018427387904.0;  // 2^62

  StatusOr<Bounded> DimSum(int depth) {
    KILN_ASSIGN_OR_RETURN(Bounded d, DimTerm(depth));
    while (d.bound <= kMaxCoefficient && (At(TokenKind::kPlus) || At(TokenKind::kMinus))) {
      bool minus = Take().kind == TokenKind::kMinus;
      KILN_ASSIGN_OR_RETURN(Bounded t, DimTerm(depth));
      d.bound += t.bound;
      if (d.bound > kMaxCoefficient) return d;
      d.dim = minus ? d.dim - t.dim : d.dim + t.dim;
    }
    return d;
  }

  StatusOr<Bounded> DimTerm(int depth) {
    KILN_ASSIGN_OR_RETURN(Bounded d, DimFactor(depth));
    while (d.bound <= kMaxCoefficient && Accept(TokenKind::kStar)) {
      KILN_ASSIGN_OR_RETURN(Bounded f, DimFactor(depth));
      d.bound *= f.bound;
      if (d.bound > kMaxCoefficient) return d;
      d.dim = d.dim * f.dim;
    }
    return d;
  }

  StatusOr<Bounded> DimFactor(int depth) {
    const Token& t = Peek();
    if (depth > kMaxDepth) {
      return ErrorAt(t, "bad dim expression, expected at most " + std::to_string(kMaxDepth) +
                            " nested parentheses or signs, got more");
    }
    switch (t.kind) {
      case TokenKind::kMinus: {
        Take();
        KILN_ASSIGN_OR_RETURN(Bounded f, DimFactor(depth + 1));
        if (f.bound <= kMaxCoefficient) f.dim = Dim(0) - f.dim;
        return f;
      }
      case TokenKind::kInt: {
        int64_t v = 0;
        KILN_RETURN_IF_ERROR(IntValue(Take(), false, &v));
        return Bounded{Dim(v), static_cast<double>(v)};
      }
      case TokenKind::kIdent:
        pending_symbols_.push_back(t);
        return Bounded{Dim::Symbol(Take().text), 1.0};
      case TokenKind::kLParen: {
        Take();
        KILN_ASSIGN_OR_RETURN(Bounded d, DimSum(depth + 1));
        if (d.bound > kMaxCoefficient) return d;
        KILN_RETURN_IF_ERROR(Expect(TokenKind::kRParen, "')' to close the dim expression"));
        return d;
      }
      default:
        return ErrorAt(t, "bad dim expression, expected an integer, a symbol or '(', got " +
                              DescribeToken(t));
    }
  }

  // Symbols met in dims since the last check must be declared (input types are parsed before
  // the `where` clause, so the check is deferred until then).
  Status CheckSymbols(const Graph& g) {
    std::vector<Token> pending = std::move(pending_symbols_);
    pending_symbols_.clear();
    for (const Token& t : pending) {
      if (g.symbols().count(t.text)) continue;
      std::string declared;
      for (const auto& [name, range] : g.symbols()) {
        declared += (declared.empty() ? "" : ", ") + name;
      }
      return ErrorAt(t, "undeclared symbol '" + t.text + "', expected a symbol from the where "
                        "clause (" + (declared.empty() ? "none declared" : declared) + ")");
    }
    return Status::Ok();
  }

  // dtype '[' dims ']', e.g. f16[N,56,56,256] or f32[].
  StatusOr<TensorType> Type() {
    const Token& t = Peek();
    if (t.kind != TokenKind::kIdent) return Unexpected(t, "a type like f32[2,3]");
    std::optional<DType> dtype = ParseDType(t.text);
    if (!dtype) {
      return ErrorAt(t, "unknown dtype '" + t.text + "', expected one of " + kDTypeList);
    }
    Take();
    KILN_RETURN_IF_ERROR(Expect(TokenKind::kLBracket, "'[' and the shape after the dtype"));
    TensorType type{*dtype, {}};
    if (!Accept(TokenKind::kRBracket)) {
      do {
        KILN_ASSIGN_OR_RETURN(Dim d, DimExpr(0));
        type.shape.push_back(std::move(d));
      } while (Accept(TokenKind::kComma));
      KILN_RETURN_IF_ERROR(Expect(TokenKind::kRBracket, "',' or ']' in the shape"));
    }
    return type;
  }

  // ---------------------------------------------------------------- graphs

  Status CheckFresh(const Token& name, Definitions& defined) const {
    auto it = defined.find(name.text);
    if (it != defined.end()) {
      return ErrorAt(name, "redefined value " + DescribeToken(name) + " (first defined at " +
                               LocString(it->second.first, it->second.second) +
                               "), expected a new name");
    }
    defined[name.text] = {name.line, name.col};
    return Status::Ok();
  }

  // Operands must be defined above their use; graph outputs anywhere in the body.
  StatusOr<Value*> Lookup(const Graph& g, const Token& name, bool output = false) const {
    Value* v = g.FindValue(name.text);
    if (!v) {
      return ErrorAt(name, "undefined value " + DescribeToken(name) + ", expected a value " +
                               (output ? "defined in the body of" : "defined before its use in") +
                               " graph @" + g.name());
    }
    return v;
  }

  // graph @name(%in: type, ...) -> (%out, ...) [where S in [min, max], ...] { node* }
  // A nested graph (parent != nullptr) has no `where`: it inherits the parent's symbols.
  StatusOr<Graph> ParseGraphDef(const Graph* parent, int depth) {
    const Token& kw = Peek();
    if (kw.kind != TokenKind::kIdent || kw.text != "graph") {
      return ErrorAt(kw, "missing graph header, expected 'graph @name(...) -> (...) {', got " +
                             DescribeToken(kw));
    }
    if (depth > kMaxDepth) {
      return ErrorAt(kw, "graphs nested too deeply, expected at most " +
                             std::to_string(kMaxDepth) + " levels, got more");
    }
    Take();
    Token name;
    KILN_RETURN_IF_ERROR(Expect(TokenKind::kGraphName, "a graph name like @main", &name));
    Graph g(name.text);
    if (parent) {
      for (const auto& [sym, range] : parent->symbols()) {
        KILN_RETURN_IF_ERROR(g.AddSymbol(sym, range.min, range.max));
      }
    }
    Definitions defined;
    KILN_RETURN_IF_ERROR(Expect(TokenKind::kLParen, "'(' and the graph inputs"));
    if (!Accept(TokenKind::kRParen)) {
      do {
        Token in;
        KILN_RETURN_IF_ERROR(Expect(TokenKind::kValueName, "an input like %x: f32[4]", &in));
        KILN_RETURN_IF_ERROR(CheckFresh(in, defined));
        KILN_RETURN_IF_ERROR(Expect(TokenKind::kColon, "':' and the input's type"));
        KILN_ASSIGN_OR_RETURN(TensorType type, Type());
        g.AddInput(in.text, std::move(type));
      } while (Accept(TokenKind::kComma));
      KILN_RETURN_IF_ERROR(Expect(TokenKind::kRParen, "',' or ')' after a graph input"));
    }
    KILN_RETURN_IF_ERROR(Expect(TokenKind::kArrow, "'->' and the graph outputs"));
    KILN_RETURN_IF_ERROR(Expect(TokenKind::kLParen, "'(' and the graph outputs"));
    std::vector<Token> outputs;
    if (!Accept(TokenKind::kRParen)) {
      do {
        outputs.emplace_back();
        KILN_RETURN_IF_ERROR(Expect(TokenKind::kValueName, "an output like %y", &outputs.back()));
      } while (Accept(TokenKind::kComma));
      KILN_RETURN_IF_ERROR(Expect(TokenKind::kRParen, "',' or ')' after a graph output"));
    }
    if (AtIdent("where")) {
      if (parent) {
        return ErrorAt(Peek(), "a nested graph inherits its parent's symbols, expected '{', got "
                               "'where'");
      }
      Take();
      do {
        KILN_RETURN_IF_ERROR(SymbolDecl(g));
      } while (Accept(TokenKind::kComma));
    }
    KILN_RETURN_IF_ERROR(CheckSymbols(g));
    KILN_RETURN_IF_ERROR(Expect(TokenKind::kLBrace, "'{' and the graph body"));
    while (!Accept(TokenKind::kRBrace)) {
      KILN_RETURN_IF_ERROR(ParseNode(g, defined, depth));
    }
    // Outputs may name values defined anywhere in the body, so they resolve last.
    std::vector<Value*> outs;
    for (const Token& t : outputs) {
      KILN_ASSIGN_OR_RETURN(Value * v, Lookup(g, t, /*output=*/true));
      outs.push_back(v);
    }
    g.SetOutputs(std::move(outs));
    return g;
  }

  // S in [min, max]
  Status SymbolDecl(Graph& g) {
    Token sym;
    KILN_RETURN_IF_ERROR(Expect(TokenKind::kIdent, "a symbol like N in [1, 64]", &sym));
    if (!AtIdent("in")) return Unexpected(Peek(), "'in' and the symbol's range");
    Take();
    KILN_RETURN_IF_ERROR(Expect(TokenKind::kLBracket, "'[' and the symbol's range"));
    int64_t min = 0, max = 0;
    KILN_RETURN_IF_ERROR(SignedInt("the smallest value of " + sym.text, &min));
    KILN_RETURN_IF_ERROR(Expect(TokenKind::kComma, "',' and the largest value"));
    KILN_RETURN_IF_ERROR(SignedInt("the largest value of " + sym.text, &max));
    KILN_RETURN_IF_ERROR(Expect(TokenKind::kRBracket, "']' to close the range"));
    if (g.symbols().count(sym.text)) {
      return ErrorAt(sym, "symbol '" + sym.text + "' declared twice, expected each symbol once");
    }
    Status s = g.AddSymbol(sym.text, min, max);
    if (!s.ok()) return ErrorAt(sym, s.message());
    return Status::Ok();
  }

  // ---------------------------------------------------------------- nodes

  // What a node line contributes before its types: operands, epilogue operands (appended to
  // the inputs), attributes as written and where each was written.
  struct NodeParts {
    std::vector<Value*> operands;
    std::vector<Value*> epilogue_operands;
    Attrs attrs;
    std::vector<AttrPlace> places;
    bool source_form = false;
  };

  // %r, ... = op(%a, ...) {attr=value, ...} : type, ...
  // %w = weight "name" : type        %c = constant [values] : type
  Status ParseNode(Graph& g, Definitions& defined, int depth) {
    std::vector<Token> results;
    do {
      results.emplace_back();
      std::string expected = results.size() == 1
                                 ? "a result like %y, or '}' to close graph @" + g.name()
                                 : "a result name like %y";
      KILN_RETURN_IF_ERROR(Expect(TokenKind::kValueName, expected, &results.back()));
      KILN_RETURN_IF_ERROR(CheckFresh(results.back(), defined));
    } while (Accept(TokenKind::kComma));
    KILN_RETURN_IF_ERROR(Expect(TokenKind::kEquals, "',' or '=' after the result names"));
    Token op;
    KILN_RETURN_IF_ERROR(Expect(TokenKind::kIdent, "an op name like add", &op));
    std::optional<OpKind> kind = OpKindFromName(op.text);
    if (!kind) {
      return ErrorAt(op, "unknown op '" + op.text +
                             "', expected an op name such as add or conv2d (`kiln info` lists "
                             "them)");
    }
    if (!IsOpRegistered(*kind)) {
      return ErrorAt(op, "op '" + op.text + "' is not registered, expected a registered op "
                         "(RegisterAllOps() not called?)");
    }
    NodeParts parts;
    if ((*kind == OpKind::kWeight && At(TokenKind::kString)) ||
        (*kind == OpKind::kConstant && At(TokenKind::kLBracket))) {
      KILN_RETURN_IF_ERROR(SourceOperands(*kind, parts));
    } else {
      KILN_RETURN_IF_ERROR(Operands(g, *kind, op, parts, depth));
    }
    KILN_RETURN_IF_ERROR(Expect(TokenKind::kColon, "':' and the result types"));
    const Token first_type = Peek();
    std::vector<TensorType> types;
    do {
      KILN_ASSIGN_OR_RETURN(TensorType t, Type());
      types.push_back(std::move(t));
    } while (Accept(TokenKind::kComma));
    if (types.size() != results.size()) {
      return ErrorAt(first_type, "wrong number of result types, expected " +
                                     std::to_string(results.size()) +
                                     " (one per result name), got " + std::to_string(types.size()));
    }
    KILN_RETURN_IF_ERROR(CheckSymbols(g));
    if (parts.source_form) KILN_RETURN_IF_ERROR(SourceAttrs(first_type, types[0], parts.attrs));

    StatusOr<Attrs> normalized = NormalizeAttrs(*kind, parts.attrs);
    if (!normalized.ok()) return AttrError(normalized.status(), op, parts.places);
    std::vector<Value*> inputs = std::move(parts.operands);
    inputs.insert(inputs.end(), parts.epilogue_operands.begin(), parts.epilogue_operands.end());
    std::vector<std::pair<std::string, TensorType>> outputs;
    for (size_t i = 0; i < results.size(); ++i) outputs.emplace_back(results[i].text, types[i]);
    Node* node = g.AddNodeWithTypes(*kind, std::move(inputs), std::move(normalized).value(),
                                    std::move(outputs));
    node->set_line(results[0].line);
    return Status::Ok();
  }

  // `"name"` of a weight or `[values]` of a constant; dtype and shape come from the type.
  Status SourceOperands(OpKind kind, NodeParts& parts) {
    parts.source_form = true;
    if (kind == OpKind::kWeight) {
      parts.attrs.Set("name", Take().text);
      return Status::Ok();
    }
    Take();  // '['
    std::vector<double> values;
    if (!Accept(TokenKind::kRBracket)) {
      do {
        KILN_ASSIGN_OR_RETURN(double v, Double());
        values.push_back(v);
      } while (Accept(TokenKind::kComma));
      KILN_RETURN_IF_ERROR(Expect(TokenKind::kRBracket, "',' or ']' in the constant's values"));
    }
    parts.attrs.Set("value", std::move(values));
    return Status::Ok();
  }

  Status SourceAttrs(const Token& at, const TensorType& type, Attrs& attrs) const {
    std::vector<int64_t> shape;
    for (const Dim& d : type.shape) {
      if (!d.is_static()) {
        return ErrorAt(at, "weights and constants need a static shape, expected integer dims, "
                           "got " + type.ToString());
      }
      shape.push_back(d.value());
    }
    attrs.Set("dtype", type.dtype);
    attrs.Set("shape", std::move(shape));
    return Status::Ok();
  }

  // '(' operands ')' ['{' attributes '}']
  Status Operands(Graph& g, OpKind kind, const Token& op, NodeParts& parts, int depth) {
    KILN_RETURN_IF_ERROR(Expect(TokenKind::kLParen, "'(' and the operands of " + op.text));
    if (!Accept(TokenKind::kRParen)) {
      do {
        Token name;
        KILN_RETURN_IF_ERROR(Expect(TokenKind::kValueName, "an operand like %x", &name));
        KILN_ASSIGN_OR_RETURN(Value * v, Lookup(g, name));
        parts.operands.push_back(v);
      } while (Accept(TokenKind::kComma));
      KILN_RETURN_IF_ERROR(Expect(TokenKind::kRParen, "',' or ')' after an operand"));
    }
    if (!Accept(TokenKind::kLBrace)) return Status::Ok();
    const OpDef& def = GetOpDef(kind);
    do {
      Token name;
      KILN_RETURN_IF_ERROR(Expect(TokenKind::kIdent, "an attribute name", &name));
      const AttrSpec* spec = nullptr;
      std::string allowed;
      for (const AttrSpec& s : def.attrs) {
        if (s.name == name.text) spec = &s;
        allowed += (allowed.empty() ? "" : ", ") + s.name;
      }
      if (!spec) {
        return ErrorAt(name, "unknown attribute '" + name.text + "' for op '" + op.text +
                                 "', expected " +
                                 (allowed.empty() ? "no attributes" : "one of " + allowed));
      }
      if (parts.attrs.Find(name.text)) {
        return ErrorAt(name, "attribute '" + name.text + "' given twice, expected it once");
      }
      KILN_RETURN_IF_ERROR(Expect(TokenKind::kEquals, "'=' and the attribute's value"));
      AttrPlace place{name, Peek().begin, 0};
      KILN_ASSIGN_OR_RETURN(AttrValue value, AttrValueFor(*spec, g, parts, depth));
      place.end = toks_[pos_ - 1].end;
      parts.attrs.Set(name.text, std::move(value));
      parts.places.push_back(std::move(place));
    } while (Accept(TokenKind::kComma));
    return Expect(TokenKind::kRBrace, "',' or '}' after an attribute");
  }

  // NormalizeAttrs' message, placed at the attribute it names (else at the op) and completed
  // with the value as written.
  Status AttrError(const Status& status, const Token& op, const std::vector<AttrPlace>& places) {
    const std::string& message = status.message();
    for (const AttrPlace& p : places) {
      if (message.find("attribute '" + p.name.text + "'") == std::string::npos) continue;
      std::string written(text_.substr(p.begin, p.end - p.begin));
      if (written.size() > kMaxQuote) written = written.substr(0, kMaxQuote) + "...";
      return ErrorAt(p.name, message + ", got " + written);
    }
    return ErrorAt(op, message);
  }

  // ---------------------------------------------------------------- attribute values

  // The schema picks the reading of ambiguous spellings (an identifier is a dtype for kDType
  // attrs, `[...]` an epilogue for kEpilogue); anything else parses by its own syntax and
  // NormalizeAttrs reports a mismatch.
  StatusOr<AttrValue> AttrValueFor(const AttrSpec& spec, Graph& g, NodeParts& parts, int depth) {
    const Token& t = Peek();
    if (spec.kind == AttrKind::kEpilogue && t.kind == TokenKind::kLBracket) {
      return EpilogueList(g, parts);
    }
    if (spec.kind == AttrKind::kGraph && AtIdent("graph")) {
      KILN_ASSIGN_OR_RETURN(Graph sub, ParseGraphDef(&g, depth + 1));
      return AttrValue(std::make_shared<Graph>(std::move(sub)));
    }
    if (spec.kind == AttrKind::kDType && t.kind == TokenKind::kIdent) {
      std::optional<DType> d = ParseDType(t.text);
      if (!d) return ErrorAt(t, "unknown dtype '" + t.text + "', expected one of " + kDTypeList);
      Take();
      return AttrValue(*d);
    }
    bool floats = spec.kind == AttrKind::kFloat || spec.kind == AttrKind::kFloats;
    switch (t.kind) {
      case TokenKind::kLBracket: return List(floats);
      case TokenKind::kString: return AttrValue(Take().text);
      case TokenKind::kIdent:
        if (t.text == "true" || t.text == "false") return AttrValue(Take().text == "true");
        if (floats && AtFloatStart()) break;
        return AttrValue(EnumValue{Take().text});
      case TokenKind::kMinus:
      case TokenKind::kInt:
      case TokenKind::kFloat: break;
      default: return Unexpected(t, "an attribute value");
    }
    KILN_ASSIGN_OR_RETURN(auto n, Number());
    if (auto* i = std::get_if<int64_t>(&n)) return AttrValue(*i);
    return AttrValue(std::get<double>(n));
  }

  // '[' elements ']': ints, floats or dim expressions. All-static lists become ints (widened by
  // NormalizeAttrs where the schema wants floats or dims).
  StatusOr<AttrValue> List(bool floats) {
    Take();  // '['
    std::vector<std::variant<Dim, double>> items;
    bool any_float = false, any_symbolic = false;
    if (!Accept(TokenKind::kRBracket)) {
      do {
        if (At(TokenKind::kFloat) || (At(TokenKind::kMinus) && Peek(1).kind == TokenKind::kFloat) ||
            (floats && AtFloatStart())) {
          KILN_ASSIGN_OR_RETURN(double v, Double());
          items.emplace_back(v);
          any_float = true;
        } else {
          const Token& start = Peek();
          KILN_ASSIGN_OR_RETURN(Dim d, DimExpr(0));
          if (!d.is_static()) {
            if (any_float) {
              return ErrorAt(start, "mixed list, expected numbers only, got dim " + d.ToString());
            }
            any_symbolic = true;
          }
          items.emplace_back(std::move(d));
        }
      } while (Accept(TokenKind::kComma));
      KILN_RETURN_IF_ERROR(Expect(TokenKind::kRBracket, "',' or ']' in the list"));
    }
    if (any_float) {
      if (any_symbolic) {
        return ErrorAt(Peek(), "mixed list, expected numbers only, got symbolic dims");
      }
      std::vector<double> out;
      for (const auto& item : items) {
        if (auto* d = std::get_if<Dim>(&item)) out.push_back(static_cast<double>(d->value()));
        else out.push_back(std::get<double>(item));
      }
      return AttrValue(std::move(out));
    }
    if (any_symbolic) {
      std::vector<Dim> out;
      for (const auto& item : items) out.push_back(std::get<Dim>(item));
      return AttrValue(std::move(out));
    }
    std::vector<int64_t> out;
    for (const auto& item : items) out.push_back(std::get<Dim>(item).value());
    return AttrValue(std::move(out));
  }

  // [step, ...] with steps bias(%b) relu gelu gelu_tanh silu sigmoid tanh add(%r) scale(f)
  // cast(dtype); operands are appended to the node's inputs in order.
  StatusOr<AttrValue> EpilogueList(const Graph& g, NodeParts& parts) {
    Take();  // '['
    Epilogue epilogue;
    if (!Accept(TokenKind::kRBracket)) {
      do {
        Token step;
        KILN_RETURN_IF_ERROR(
            Expect(TokenKind::kIdent, "an epilogue step like relu or bias(%b)", &step));
        EpilogueOp op;
        if (!ParseEpilogueKind(step.text, &op.kind)) {
          return ErrorAt(step, "unknown epilogue step '" + step.text + "', expected one of " +
                                   kEpilogueList);
        }
        KILN_RETURN_IF_ERROR(EpilogueArgs(g, step, op, parts));
        epilogue.push_back(op);
      } while (Accept(TokenKind::kComma));
      KILN_RETURN_IF_ERROR(Expect(TokenKind::kRBracket, "',' or ']' in the epilogue"));
    }
    return AttrValue(std::move(epilogue));
  }

  Status EpilogueArgs(const Graph& g, const Token& step, EpilogueOp& op, NodeParts& parts) {
    if (op.kind == EpilogueOp::Kind::kScale) {
      KILN_RETURN_IF_ERROR(Expect(TokenKind::kLParen, "'(' and the scale factor"));
      KILN_ASSIGN_OR_RETURN(op.scale, Double());
      return Expect(TokenKind::kRParen, "')' after the scale factor");
    }
    if (op.kind == EpilogueOp::Kind::kCast) {
      KILN_RETURN_IF_ERROR(Expect(TokenKind::kLParen, "'(' and the dtype to cast to"));
      const Token& t = Peek();
      std::optional<DType> d = t.kind == TokenKind::kIdent ? ParseDType(t.text) : std::nullopt;
      if (!d) {
        return ErrorAt(t, std::string("unknown dtype, expected one of ") + kDTypeList + ", got " +
                              DescribeToken(t));
      }
      Take();
      op.dtype = *d;
      return Expect(TokenKind::kRParen, "')' after the dtype");
    }
    std::vector<Token> operands;
    if (Accept(TokenKind::kLParen) && !Accept(TokenKind::kRParen)) {
      do {
        operands.emplace_back();
        KILN_RETURN_IF_ERROR(Expect(TokenKind::kValueName, "an operand like %b", &operands.back()));
      } while (Accept(TokenKind::kComma));
      KILN_RETURN_IF_ERROR(Expect(TokenKind::kRParen, "',' or ')' after an epilogue operand"));
    }
    size_t expected = op.TakesOperand() ? 1 : 0;
    if (operands.size() != expected) {
      return ErrorAt(step, "wrong number of operands for epilogue step '" + step.text +
                               "', expected " + std::to_string(expected) + ", got " +
                               std::to_string(operands.size()));
    }
    if (expected) {
      KILN_ASSIGN_OR_RETURN(Value * v, Lookup(g, operands[0]));
      parts.epilogue_operands.push_back(v);
    }
    return Status::Ok();
  }

  std::string_view text_;
  std::string source_;
  std::vector<Token> toks_;
  size_t pos_ = 0;
  std::vector<Token> pending_symbols_;
};

}  // namespace

StatusOr<Graph> ParseGraph(std::string_view text, const std::string& source_name) {
  return Parser(text, source_name).ParseTop();
}

}  // namespace kiln
