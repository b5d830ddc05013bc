// JSON Schema -> GBNF, as llama.cpp's json-schema-to-grammar does (written anew): the grammar
// accepts JSON text that the schema validates.
//
// Supported: type (and type arrays), properties / required / additionalProperties, enum, const,
// items / prefixItems / minItems / maxItems, minLength / maxLength, format (date, time, date-time,
// uuid), pattern (a regex subset), integer minimum / maximum / exclusive bounds, $ref into the same
// document ($defs, definitions, any JSON pointer), anyOf, oneOf (as anyOf, with a warning), allOf of
// objects.
// A keyword that constrains what it cannot express is lp::Error(Unsupported) naming the keyword
// and where it is; an unknown keyword is a warning. Annotations (title, description, ...) are
// fine. Without additionalProperties, an object with properties gets no other keys (llama.cpp's
// choice: the model writes the keys the schema names).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace lp {

struct JsonSchemaGrammar {
  std::string gbnf;                   // `root ::= ...` and the rules it uses
  std::vector<std::string> warnings;  // keywords it did not use, by path
};

// Throws lp::Error(InvalidArgument) for text that is not JSON or a malformed schema.
JsonSchemaGrammar json_schema_to_gbnf(std::string_view schema_json);
JsonSchemaGrammar json_schema_value_to_gbnf(const nlohmann::ordered_json& schema);

// Any JSON object (llama.cpp's grammars/json.gbnf language): response_format {"type": "json_object"}.
const std::string& json_object_gbnf();

// A regular expression (JSON Schema's `pattern`, ECMA-262 subset) as a GBNF expression for the
// characters of a JSON string's content (escaped as JSON needs). Unanchored ends match anything,
// as JSON Schema's search semantics say. Throws lp::Error(Unsupported) naming a feature it does not
// handle (lookaround, backreferences, word boundaries, \p{...}, flags) and InvalidArgument for a
// malformed pattern.
std::string regex_to_gbnf(std::string_view pattern);

}  // namespace lp
