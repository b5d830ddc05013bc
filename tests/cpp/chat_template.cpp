// The chat template engine on its own: snippets with jinja2's output (tests/data/chat_snippets.json,
// written by tests/chat/make_snippets.py), errors and their kinds, and the limits that keep a
// hostile template from hanging or eating memory. The full comparison over llama.cpp's templates
// is tests/chat/compare_templates.py.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "llamaprof/chat.h"
#include "llamaprof/error.h"

namespace {

using json = nlohmann::ordered_json;

std::string render(const std::string& src, const json& ctx = json::object(), lp::ChatRenderOptions opt = {}) {
  return lp::render_chat_template(src, ctx, opt);
}

// Runs `f`, expecting an lp::Error of `kind` whose message contains `part`.
template <typename F>
void expect_error(F f, lp::ErrorKind kind, const std::string& part) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one containing: " << part;
  } catch (const lp::Error& e) {
    EXPECT_EQ(static_cast<int>(e.kind()), static_cast<int>(kind)) << e.what();
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

TEST(ChatTemplate, SnippetsMatchJinja2) {
  std::ifstream in(LLAMAPROF_SOURCE_DIR "/tests/data/chat_snippets.json");
  ASSERT_TRUE(in) << "tests/data/chat_snippets.json missing";
  json cases = json::parse(in);
  ASSERT_GT(cases.size(), 10u);
  for (const auto& c : cases) {
    std::string src = c["source"].get<std::string>();
    EXPECT_EQ(render(src, c["context"]), c["expected"].get<std::string>()) << src;
  }
}

TEST(ChatTemplate, ParsedOnceRenderedManyTimesAndConcurrently) {
  auto t = lp::ChatTemplate::parse(
      "{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}");
  json ctx = {{"messages", json::array({{{"role", "user"}, {"content", "hi"}}})}, {"add_generation_prompt", true}};
  EXPECT_EQ(t.render(ctx), "<user>hi<assistant>");
  ctx["add_generation_prompt"] = false;
  EXPECT_EQ(t.render(ctx), "<user>hi");
  std::vector<std::thread> threads;
  std::vector<std::string> outs(4);
  for (size_t i = 0; i < outs.size(); ++i) threads.emplace_back([&, i] { outs[i] = t.render(ctx); });
  for (auto& th : threads) th.join();
  for (const auto& o : outs) EXPECT_EQ(o, "<user>hi");
}

TEST(ChatTemplate, KeepsDictKeyOrder) {
  json ctx = json::parse(R"({"d": {"zeta": 1, "alpha": 2, "mid": 3}})");
  EXPECT_EQ(render("{{ d | tojson }}", ctx), R"({"zeta": 1, "alpha": 2, "mid": 3})");
  EXPECT_EQ(render("{% for k in d %}{{ k }} {% endfor %}", ctx), "zeta alpha mid ");
}

TEST(ChatTemplate, RaiseExceptionIsInvalidArgumentWithTheMessage) {
  expect_error([] { render("{{ raise_exception('Conversation roles must alternate') }}"); },
               lp::ErrorKind::InvalidArgument, "chat template: Conversation roles must alternate");
}

TEST(ChatTemplate, SyntaxErrorsNameLineAndColumn) {
  expect_error([] { render("line one\n{% if x %}\n{{ 1 + }}\n{% endif %}"); }, lp::ErrorKind::InvalidArgument,
               "line 3, column 8");
  expect_error([] { render("{% for x in y %}no end"); }, lp::ErrorKind::InvalidArgument, "expected 'endfor'");
  expect_error([] { render("{{ 'unterminated }}"); }, lp::ErrorKind::InvalidArgument, "unterminated string");
  expect_error([] { render("{% frobnicate %}"); }, lp::ErrorKind::InvalidArgument, "unknown tag 'frobnicate'");
  expect_error([] { render("{{ x | no_such_filter }}"); }, lp::ErrorKind::InvalidArgument,
               "no filter named 'no_such_filter'");
}

TEST(ChatTemplate, UnknownFilterInsideIfFailsOnlyWhenReached) {
  EXPECT_EQ(render("{% if false %}{{ x | from_json }}{% endif %}ok"), "ok");
  expect_error([] { render("{% if true %}{{ x | from_json }}{% endif %}"); }, lp::ErrorKind::InvalidArgument,
               "no filter named 'from_json'");
}

TEST(ChatTemplate, UnsupportedFeaturesSaySo) {
  expect_error([] { render("{% include 'other.jinja' %}"); }, lp::ErrorKind::Unsupported,
               "chat template uses the 'include' tag (line 1), which llamaprof does not support");
  expect_error([] { render("\n{{ x | wordwrap(10) }}", {{"x", "a"}}); }, lp::ErrorKind::Unsupported,
               "the 'wordwrap' filter (line 2)");
  expect_error([] { render("{{ '%s' % 1 }}"); }, lp::ErrorKind::Unsupported, "printf-style");
  expect_error([] { render("{{ [1] | map('string') }}"); }, lp::ErrorKind::Unsupported, "printing a generator object (line 1)");
}

TEST(ChatTemplate, SandboxRefusesMutation) {
  expect_error([] { render("{% set l = [] %}{{ l.append(1) }}"); }, lp::ErrorKind::InvalidArgument,
               "access to attribute 'append' of 'list' object is unsafe");
  expect_error([] { render("{{ {'a': 1}.pop('a') }}"); }, lp::ErrorKind::InvalidArgument, "unsafe");
}

TEST(ChatTemplate, UndefinedBehavesLikeJinja2) {
  EXPECT_EQ(render("[{{ missing }}][{{ missing | length }}][{% for x in missing %}x{% endfor %}]"), "[][0][]");
  EXPECT_EQ(render("{{ d.nope is defined }}{{ d['nope'] is undefined }}", {{"d", json::object()}}), "FalseTrue");
  expect_error([] { render("{{ missing.attr }}"); }, lp::ErrorKind::InvalidArgument, "'missing' is undefined");
  expect_error([] { render("{{ missing + 1 }}"); }, lp::ErrorKind::InvalidArgument, "'missing' is undefined");
}

TEST(ChatTemplate, StrftimeNowUsesTheGivenClock) {
  lp::ChatRenderOptions opt;
  opt.now_unix = 1721995200;  // 2024-07-26 12:00:00 UTC
  EXPECT_EQ(render("{{ strftime_now('%d %b %Y %H:%M') }}", json::object(), opt), "26 Jul 2024 12:00");
}

TEST(ChatTemplate, LimitsStopRunawayTemplates) {
  lp::ChatRenderOptions opt;
  opt.max_steps = 10000;
  expect_error([&] { render("{% for i in range(100000) %}{{ i }}{% endfor %}", json::object(), opt); },
               lp::ErrorKind::InvalidArgument, "steps");
  opt = {};
  opt.max_output_bytes = 1000;
  expect_error([&] { render("{{ 'x' * 5000 }}", json::object(), opt); }, lp::ErrorKind::InvalidArgument,
               "longer than 1000 bytes");
  expect_error([&] { render("{% set s = 'ab' %}{% for i in range(20) %}{% set s = s ~ s %}{% endfor %}", json::object(), opt); },
               lp::ErrorKind::InvalidArgument, "longer than");
  expect_error([] { render("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}"); },
               lp::ErrorKind::InvalidArgument, "nested deeper");
  std::string chain = "{{ 1";
  for (int i = 0; i < 20000; ++i) chain += " ~ 1";
  expect_error([&] { render(chain + " }}"); }, lp::ErrorKind::InvalidArgument, "nested too deeply");
  std::string deep(5000, '(');
  expect_error([&] { render("{{ " + deep + "1" + std::string(5000, ')') + " }}"); }, lp::ErrorKind::InvalidArgument,
               "nested too deeply");
}

TEST(ChatTemplate, PythonMethodsLlamaprofLacksAreUnsupported) {
  expect_error([] { render("{{ 'a'.zfill(3) }}"); }, lp::ErrorKind::Unsupported, "the str.zfill() method (line 1)");
  expect_error([] { render("{% for x in [1, 2] %}{{ loop.changed(x) }}{% endfor %}"); }, lp::ErrorKind::Unsupported,
               "loop.changed()");
  EXPECT_EQ(render("{{ 'prefix-body'.removeprefix('prefix-') }}{{ 'a.txt'.removesuffix('.md') }}"), "bodya.txt");
  // Case mapping covers Latin, Greek and Cyrillic; other cased letters are refused, not left unchanged.
  EXPECT_EQ(render("{{ 'Café Ÿ Straße' | lower }}|{{ 'éa ΑΒγ жЖ' | upper }}|{{ 'élan vital' | title }}"),
            "café ÿ straße|ÉA ΑΒΓ ЖЖ|Élan Vital");
  expect_error([] { render("{{ 'straße' | upper }}"); }, lp::ErrorKind::Unsupported, "case mapping");
  expect_error([] { render("{{ 'Ꭰ' | lower }}"); }, lp::ErrorKind::Unsupported, "case mapping");
  EXPECT_EQ(render("{{ '中文 ok 😀' | upper }}|{{ '中a b'.title() }}"), "中文 OK 😀|中A B");
}

TEST(ChatTemplate, WhitespaceControlAndTrailingNewline) {
  EXPECT_EQ(render("a\n{% if true %}\nb\n{% endif %}\nc\n"), "a\nb\nc");  // trim_blocks, one trailing \n dropped
  EXPECT_EQ(render("a  {%- if true -%}  b  {%- endif %}"), "ab");
  EXPECT_EQ(render("x\n    {% if true %}y{% endif %}"), "x\ny");  // lstrip_blocks
  EXPECT_EQ(render("x\n    {{ 'y' }}"), "x\n    y");                // but not before {{
  EXPECT_EQ(render("{% raw %}{{ not parsed }}{% endraw %}"), "{{ not parsed }}");
  EXPECT_EQ(render("a\r\nb"), "a\nb");
}

}  // namespace
