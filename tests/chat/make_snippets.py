#!/usr/bin/env python3
"""Writes tests/data/chat_snippets.json: small templates with the output jinja2 gives them (in
transformers' environment, as tests/chat/compare_templates.py sets it up), for tests/cpp/chat_template.cpp.
  /usr/bin/python3 tests/chat/make_snippets.py tests/data/chat_snippets.json"""
import sys, json
sys.path.insert(0, str(__import__('pathlib').Path(__file__).resolve().parent))
import compare_templates as ct
env = ct.jinja2_environment()
cases = [
 ("{{ 1.0 }}|{{ 1e-5 }}|{{ 1e16 }}|{{ 0.1 + 0.2 }}|{{ 2.5e-4 }}|{{ 123456789.123 }}", {}),
 ("{{ [1, 'a', none, true, {'k': \"it's\"}] }}", {}),
 ("{{ (1,) }}{{ (1, 2) }}", {}),
 ("{{ x | tojson }}|{{ x | tojson(indent=2) }}|{{ x | tojson(separators=(',', ':')) }}", {"x": {"a": [1, 2.5, None], "é": "\"\n\t\u0001"}}),
 ("  {% if true %}\n  yes\n  {% endif %}\n  {{- 'a' }}  {#- c -#}  b\n", {}),
 ("{% for k, v in d.items() %}{{ loop.index }}{{ k }}={{ v }}{{ ',' if not loop.last }}{% endfor %}", {"d": {"z": 1, "a": 2}}),
 ("{% for x in [1,2,3,4] if x is even %}{{ loop.length }}{{ x }}{% else %}none{% endfor %}", {}),
 ("{% for x in [] %}a{% else %}empty{% endfor %}", {}),
 ("{% for x in range(10) %}{% if x == 3 %}{% break %}{% endif %}{% if x is odd %}{% continue %}{% endif %}{{ x }}{% endfor %}", {}),
 ("{% macro m(a, b='B') %}[{{ a }}{{ b }}{{ varargs }}{{ kwargs }}]{% endmacro %}{{ m(1) }}{{ m(1, 2, 3, z=4) }}", {}),
 ("{% macro w() %}<{{ caller('x') }}>{% endmacro %}{% call(v) w() %}in {{ v }}{% endcall %}", {}),
 ("{% set ns = namespace(n=0) %}{% for i in range(3) %}{% set ns.n = ns.n + i %}{% endfor %}{{ ns.n }}", {}),
 ("{% set x %}  block {{ 1 }} {% endset %}[{{ x }}]{% filter upper %}up{% endfilter %}", {}),
 ("{{ 'a,b,,c'.split(',') }}{{ '  x  '.strip() }}{{ 'abc'[::-1] }}{{ 'hello world'.title() }}{{ 'x'.startswith(('a', 'x')) }}", {}),
 ("{{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 2 ** 10 }} {{ 7 / 2 }} {{ 'ab' * 3 }} {{ 1 ~ none ~ true }}", {}),
 ("{{ users | selectattr('active') | map(attribute='name') | join(', ') }}|{{ users | rejectattr('active') | list | length }}", {"users": [{"name": "a", "active": True}, {"name": "b", "active": False}, {"name": "c", "active": True}]}),
 ("{{ d | dictsort }}{{ [3, 1, 2] | sort }}{{ ['b', 'A', 'a'] | unique | list }}{{ [1, 2] | first }}{{ [1, 2] | last }}", {"d": {"b": 1, "A": 2}}),
 ("{{ 'x' if false }}|{{ none | default('d') }}|{{ undefined_thing | default('u') }}|{{ '' | default('e', true) }}", {}),
 ("{{ 'line1\nline2\n\nline4' | indent(2) }}|{{ 'a\nb' | indent(2, true) }}", {}),
 ("{{ 'Hello' is string }}{{ 1 is number }}{{ true is number }}{{ d is mapping }}{{ [1] is iterable }}{{ x is defined }}{{ none is none }}{{ 3 is divisibleby 3 }}", {"d": {}}),
 ("{{ '{} and {name}'.format(1, name='n') }}|{{ '%d' | length }}", {}),
 ("{{ \"Use '\"|safe + x + \"'\" }}", {"x": "<b>\"&'"}),
]
for src, ctx in cases:
    try: out = env.from_string(src).render(**ctx)
    except Exception as e: out = "ERR " + repr(e)
    print(json.dumps(src), "=>", json.dumps(out, ensure_ascii=False))

if len(sys.argv) > 1:
    out = []
    for src, ctx in cases:
        out.append({"source": src, "context": ctx, "expected": env.from_string(src).render(**ctx)})
    open(sys.argv[1], "w").write(json.dumps(out, ensure_ascii=False, indent=1) + "\n")
