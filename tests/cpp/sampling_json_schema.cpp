// JSON Schema -> GBNF: each converted grammar compiles and accepts / rejects sample documents.
#include <gtest/gtest.h>

#include "llamaprof/error.h"
#include "sampling/grammar.h"
#include "sampling/grammar_matcher.h"
#include "sampling/json_schema.h"

namespace lp {
namespace {

std::shared_ptr<const Grammar> schema_grammar(const std::string& schema) {
  const JsonSchemaGrammar j = json_schema_to_gbnf(schema);
  EXPECT_TRUE(j.warnings.empty()) << j.warnings.front();
  try {
    return Grammar::parse(j.gbnf);
  } catch (const Error& e) {
    ADD_FAILURE() << e.what() << "\n" << j.gbnf;
    throw;
  }
}

bool accepts(const std::shared_ptr<const Grammar>& g, std::string_view text) {
  GrammarMatcher m(g);
  return m.accept(text) && m.is_complete();
}

std::string error_of(const std::string& schema, ErrorKind kind) {
  try {
    Grammar::parse(json_schema_to_gbnf(schema).gbnf);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    return e.what();
  }
  return "(converted)";
}

TEST(JsonSchema, ObjectsWithRequiredAndOptionalKeys) {
  auto g = schema_grammar(R"({"type": "object", "properties": {
      "name": {"type": "string"}, "age": {"type": "integer"}, "tags": {"type": "array", "items": {"type": "string"}},
      "ok": {"type": "boolean"}}, "required": ["name", "ok"]})");
  EXPECT_TRUE(accepts(g, R"({"name": "x", "ok": true})"));
  EXPECT_TRUE(accepts(g, R"({"name": "x", "ok": false, "age": 3, "tags": ["a", "b"]})"));
  EXPECT_TRUE(accepts(g, R"({"name":"x","ok":true,"tags":[]})"));
  EXPECT_FALSE(accepts(g, R"({"name": "x"})"));               // missing required
  EXPECT_FALSE(accepts(g, R"({"name": "x", "ok": 1})"));      // wrong type
  EXPECT_FALSE(accepts(g, R"({"name": "x", "ok": true, "z": 1})"));  // no other keys
  EXPECT_FALSE(accepts(g, R"({"name": "x", "ok": true, "age": 1.5})"));
  // Only optional keys: any subset, in order, commas right.
  auto o = schema_grammar(R"({"properties": {"a": {"type": "integer"}, "b": {"type": "integer"}, "c": {"type": "null"}}})");
  for (const char* ok : {"{}", R"({"a": 1})", R"({"b": 2})", R"({"c": null})", R"({"a": 1, "c": null})",
                         R"({"a": 1, "b": 2, "c": null})"}) {
    EXPECT_TRUE(accepts(o, ok)) << ok;
  }
  for (const char* bad : {R"({, "a": 1})", R"({"a": 1,})", R"({"b": 2, "a": 1})", R"({"d": 1})"}) {
    EXPECT_FALSE(accepts(o, bad)) << bad;
  }
}

TEST(JsonSchema, AdditionalProperties) {
  auto any = schema_grammar(R"({"type": "object"})");
  EXPECT_TRUE(accepts(any, R"({"x": [1, {"y": null}]})"));
  auto typed = schema_grammar(R"({"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"],
                                  "additionalProperties": {"type": "string"}})");
  EXPECT_TRUE(accepts(typed, R"({"id": 1, "name": "x", "i": "y", "idx": "z"})"));
  EXPECT_FALSE(accepts(typed, R"({"id": 1, "name": 2})"));
  EXPECT_FALSE(accepts(typed, R"({"id": 1, "id": "x"})"));  // an extra key may not repeat a named one
  auto closed = schema_grammar(R"({"properties": {"a": {}}, "additionalProperties": false})");
  EXPECT_TRUE(accepts(closed, R"({"a": [true]})"));
  EXPECT_FALSE(accepts(closed, R"({"b": 1})"));
  auto open = schema_grammar(R"({"properties": {"ab": {"type": "integer"}}, "additionalProperties": true})");
  EXPECT_TRUE(accepts(open, R"({"a": "x", "abc": 1, "ab": 2})") == false);  // "ab" comes first
  EXPECT_TRUE(accepts(open, R"({"ab": 2, "a": "x", "abc": [1]})"));
  EXPECT_TRUE(accepts(open, R"({"a": "x", "": 1})"));
  EXPECT_FALSE(accepts(open, R"({"ab": 2, "ab": 3})"));
}

TEST(JsonSchema, EnumConstAndPrimitives) {
  auto e = schema_grammar(R"({"enum": ["red", 1, null, {"a": [true]}, "qu\"ote"]})");
  for (const char* ok : {R"("red")", "1", "null", R"({"a":[true]})", R"("qu\"ote")"}) EXPECT_TRUE(accepts(e, ok)) << ok;
  EXPECT_FALSE(accepts(e, R"("blue")"));
  auto c = schema_grammar(R"({"const": "é"})");
  EXPECT_TRUE(accepts(c, "\"é\""));
  auto types = schema_grammar(R"({"type": ["string", "null"]})");
  EXPECT_TRUE(accepts(types, "null"));
  EXPECT_TRUE(accepts(types, R"("x\n\u00e9")"));
  EXPECT_FALSE(accepts(types, "1"));
  auto num = schema_grammar(R"({"type": "number"})");
  for (const char* ok : {"0", "-1.5", "3e10", "2.25E-3"}) EXPECT_TRUE(accepts(num, ok)) << ok;
  for (const char* bad : {"01", "1.", ".5", "+1", "--1"}) EXPECT_FALSE(accepts(num, bad)) << bad;
  auto any = schema_grammar("{}");
  EXPECT_TRUE(accepts(any, R"([1, "a", {"b": false}])"));
  auto t = schema_grammar("true");
  EXPECT_TRUE(accepts(t, "\"x\""));
}

TEST(JsonSchema, ArraysWithBounds) {
  auto g = schema_grammar(R"({"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 3})");
  EXPECT_FALSE(accepts(g, "[1]"));
  EXPECT_TRUE(accepts(g, "[1, 2]"));
  EXPECT_TRUE(accepts(g, "[1,2,3]"));
  EXPECT_FALSE(accepts(g, "[1, 2, 3, 4]"));
  EXPECT_FALSE(accepts(g, "[]"));
  auto upto = schema_grammar(R"({"items": {"type": "boolean"}, "maxItems": 1})");
  EXPECT_TRUE(accepts(upto, "[]"));
  EXPECT_TRUE(accepts(upto, "[true]"));
  EXPECT_FALSE(accepts(upto, "[true, false]"));
  auto tuple = schema_grammar(R"({"prefixItems": [{"type": "string"}, {"type": "integer"}]})");
  EXPECT_TRUE(accepts(tuple, R"(["a", 1])"));
  EXPECT_FALSE(accepts(tuple, R"(["a"])"));
  EXPECT_FALSE(accepts(tuple, R"([1, "a"])"));
}

TEST(JsonSchema, StringsLengthsFormatsPatterns) {
  auto len = schema_grammar(R"({"type": "string", "minLength": 2, "maxLength": 3})");
  EXPECT_FALSE(accepts(len, R"("a")"));
  EXPECT_TRUE(accepts(len, R"("ab")"));
  EXPECT_TRUE(accepts(len, R"("a\nb")"));  // an escape is one character
  EXPECT_FALSE(accepts(len, R"("abcd")"));
  auto date = schema_grammar(R"({"type": "string", "format": "date"})");
  EXPECT_TRUE(accepts(date, R"("2024-02-29")"));
  EXPECT_FALSE(accepts(date, R"("2024-13-01")"));
  auto dt = schema_grammar(R"({"format": "date-time"})");
  EXPECT_TRUE(accepts(dt, R"("2024-02-29T23:59:01Z")"));
  EXPECT_TRUE(accepts(dt, R"("2024-02-29T23:59:01.123+02:00")"));
  EXPECT_FALSE(accepts(dt, R"("2024-02-29 23:59:01Z")"));
  auto time = schema_grammar(R"({"type": "string", "format": "time"})");
  EXPECT_TRUE(accepts(time, R"("07:08:09Z")"));
  auto uuid = schema_grammar(R"({"type": "string", "format": "uuid"})");
  EXPECT_TRUE(accepts(uuid, R"("123e4567-e89b-12d3-a456-426614174000")"));
  EXPECT_FALSE(accepts(uuid, R"("123e4567-e89b-12d3-a456-42661417400")"));
  auto pat = schema_grammar(R"({"type": "string", "pattern": "^[A-Z]{2}-\\d{3,4}(x|yz)?$"})");
  for (const char* ok : {R"("AB-123")", R"("QQ-1234x")", R"("ZZ-000yz")"}) EXPECT_TRUE(accepts(pat, ok)) << ok;
  for (const char* bad : {R"("Ab-123")", R"("AB-12")", R"("AB-12345")", R"("AB-123y")"}) EXPECT_FALSE(accepts(pat, bad)) << bad;
  // Unanchored: anything around the match (JSON Schema searches).
  auto search = schema_grammar(R"({"pattern": "ab+c"})");
  EXPECT_TRUE(accepts(search, R"("xxabbbcyy")"));
  EXPECT_FALSE(accepts(search, R"("xxacyy")"));
  // Characters JSON escapes are written as escapes.
  auto quote = schema_grammar(R"({"pattern": "^a\"[\\\\\\n]\\.$"})");
  EXPECT_TRUE(accepts(quote, R"("a\"\\.")"));
  EXPECT_TRUE(accepts(quote, R"("a\"\n.")"));
  EXPECT_FALSE(accepts(quote, R"("a"\\.")"));
  auto neg = schema_grammar(R"({"pattern": "^[^a-c]+$"})");
  EXPECT_TRUE(accepts(neg, R"("xyz")"));
  EXPECT_FALSE(accepts(neg, R"("xaz")"));
  EXPECT_FALSE(accepts(neg, R"("x"z")"));
}

TEST(JsonSchema, IntegerRangesAreExact) {
  struct Case {
    const char* schema;
    long lo, hi;  // the accepted range within [-1200, 1200]
  };
  const Case cases[] = {
      {R"({"type": "integer", "minimum": 0, "maximum": 150})", 0, 150},
      {R"({"type": "integer", "minimum": -37, "maximum": 1005})", -37, 1005},
      {R"({"type": "integer", "minimum": -999, "maximum": -10})", -999, -10},
      {R"({"type": "integer", "exclusiveMinimum": 7, "exclusiveMaximum": 100})", 8, 99},
      {R"({"type": "integer", "minimum": 5})", 5, 1200},
      {R"({"type": "integer", "minimum": -12})", -12, 1200},
      {R"({"type": "integer", "maximum": 42})", -1200, 42},
      {R"({"type": "integer", "maximum": -3})", -1200, -3},
      {R"({"type": "integer", "minimum": 1.5, "maximum": 9.5})", 2, 9},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.schema);
    auto g = schema_grammar(c.schema);
    for (long v = -1200; v <= 1200; ++v) {
      ASSERT_EQ(accepts(g, std::to_string(v)), v >= c.lo && v <= c.hi) << v;
    }
    EXPECT_FALSE(accepts(g, "007"));
  }
}

TEST(JsonSchema, RefsAnyOfAllOf) {
  auto tree = schema_grammar(R"({"$ref": "#/$defs/node", "$defs": {"node": {"type": "object",
      "properties": {"v": {"type": "integer"}, "kids": {"type": "array", "items": {"$ref": "#/$defs/node"}}},
      "required": ["v"]}}})");
  EXPECT_TRUE(accepts(tree, R"({"v": 1, "kids": [{"v": 2}, {"v": 3, "kids": []}]})"));
  EXPECT_FALSE(accepts(tree, R"({"v": 1, "kids": [{"w": 2}]})"));
  auto defs = schema_grammar(R"({"definitions": {"n": {"type": "null"}}, "properties": {"x": {"$ref": "#/definitions/n"}},
                                 "required": ["x"]})");
  EXPECT_TRUE(accepts(defs, R"({"x": null})"));
  auto any = schema_grammar(R"({"anyOf": [{"type": "integer"}, {"type": "string", "maxLength": 1}]})");
  EXPECT_TRUE(accepts(any, "12"));
  EXPECT_TRUE(accepts(any, R"("a")"));
  EXPECT_FALSE(accepts(any, R"("ab")"));
  const JsonSchemaGrammar one_of = json_schema_to_gbnf(R"({"oneOf": [{"const": 1}, {"const": "one"}]})");
  ASSERT_EQ(one_of.warnings.size(), 1u);  // exclusivity is not enforced: said, not silent
  EXPECT_NE(one_of.warnings[0].find("oneOf is treated as anyOf"), std::string::npos);
  auto one = Grammar::parse(one_of.gbnf);
  EXPECT_TRUE(accepts(one, R"("one")"));
  EXPECT_TRUE(accepts(one, "1"));
  auto all = schema_grammar(R"({"allOf": [{"properties": {"a": {"type": "integer"}}, "required": ["a"]},
                                         {"properties": {"b": {"type": "boolean"}}, "required": ["b"]}]})");
  EXPECT_TRUE(accepts(all, R"({"a": 1, "b": true})"));
  EXPECT_FALSE(accepts(all, R"({"a": 1})"));
}

TEST(JsonSchema, UnsupportedAndMalformedSchemasAreErrors) {
  EXPECT_NE(error_of(R"({"type": "array", "uniqueItems": true})", ErrorKind::Unsupported).find("uniqueItems"), std::string::npos);
  EXPECT_NE(error_of(R"({"properties": {"a": {"not": {}}}})", ErrorKind::Unsupported).find("#/properties/a: keyword 'not'"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"type": "number", "minimum": 1})", ErrorKind::Unsupported).find("minimum"), std::string::npos);
  EXPECT_NE(error_of(R"({"pattern": "^(?=a)b$"})", ErrorKind::Unsupported).find("lookaround"), std::string::npos);
  EXPECT_NE(error_of(R"({"pattern": "(a)\\1"})", ErrorKind::Unsupported).find("backreference"), std::string::npos);
  EXPECT_NE(error_of(R"({"pattern": "\\bword"})", ErrorKind::Unsupported).find("word boundary"), std::string::npos);
  EXPECT_NE(error_of(R"({"pattern": "\\p{L}"})", ErrorKind::Unsupported).find("Unicode property"), std::string::npos);
  EXPECT_NE(error_of(R"({"$ref": "https://example.com/s.json"})", ErrorKind::Unsupported).find("$ref"), std::string::npos);
  EXPECT_NE(error_of(R"({"$ref": "#/$defs/missing"})", ErrorKind::InvalidArgument).find("points nowhere"), std::string::npos);
  EXPECT_NE(error_of(R"({"type": "strin"})", ErrorKind::InvalidArgument).find("unknown type 'strin'"), std::string::npos);
  EXPECT_NE(error_of("{not json", ErrorKind::InvalidArgument).find("not valid JSON"), std::string::npos);
  EXPECT_NE(error_of(R"({"pattern": "(ab"})", ErrorKind::InvalidArgument).find("unclosed group"), std::string::npos);
  // Found by the grammar fuzzer: {m,n} with n < m is a malformed pattern (ECMA-262), not a grammar.
  EXPECT_NE(error_of(R"({"pattern": "^[a-z]{8,4}$"})", ErrorKind::InvalidArgument).find("out of order"), std::string::npos);
  EXPECT_NE(error_of(R"({"pattern": "a{0000000000000000000000000000000000000000009,8}"})", ErrorKind::InvalidArgument)
                .find("out of order"), std::string::npos);
  // Unknown keywords and formats are warnings, named.
  const JsonSchemaGrammar w = json_schema_to_gbnf(R"({"type": "string", "format": "email", "x-extra": 1})");
  ASSERT_EQ(w.warnings.size(), 2u);
  EXPECT_NE(w.warnings[0].find("'x-extra'"), std::string::npos);
  EXPECT_NE(w.warnings[1].find("format 'email'"), std::string::npos);
}

TEST(JsonSchema, JsonObjectGrammar) {
  auto g = Grammar::parse(json_object_gbnf());
  EXPECT_TRUE(accepts(g, R"({"a": [1, {"b": null}], "c": "d"})"));
  EXPECT_FALSE(accepts(g, "[1]"));
  EXPECT_FALSE(accepts(g, "\"x\""));
}

}  // namespace
}  // namespace lp
