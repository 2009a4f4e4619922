// Tokenizes every pack in rules/ with the TextMate grammar (vscode-textmate, the engine VS Code
// uses, with its Oniguruma regexes) and checks the key tokens: keywords, rule names, strings
// (a `//` inside one is not a comment), operators, comments, numbers. Run: npm install && npm
// run test:tokens (from editors/vscode). Exits 1 with the first wrong token of each kind.
"use strict";
const fs = require("fs");
const path = require("path");
const vsctm = require("vscode-textmate");
const oniguruma = require("vscode-oniguruma");

const root = path.resolve(__dirname, "..", "..", "..");
const grammarPath = path.resolve(__dirname, "..", "syntaxes", "scry.tmLanguage.json");

function packs(dir) {
  let out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out = out.concat(packs(p));
    else if (e.name.endsWith(".scry")) out.push(p);
  }
  return out.sort();
}

async function main() {
  const wasm = fs.readFileSync(require.resolve("vscode-oniguruma/release/onig.wasm")).buffer;
  await oniguruma.loadWASM(wasm);
  const registry = new vsctm.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (s) => new oniguruma.OnigScanner(s),
      createOnigString: (s) => new oniguruma.OnigString(s),
    }),
    loadGrammar: async (scope) =>
      scope === "source.scry"
        ? vsctm.parseRawGrammar(fs.readFileSync(grammarPath, "utf8"), grammarPath)
        : null,
  });
  const grammar = await registry.loadGrammar("source.scry");

  const failures = [];
  const counts = { files: 0, lines: 0, keywords: 0, rules: 0, strings: 0, operators: 0, comments: 0, numbers: 0 };
  const fail = (file, n, msg) => {
    if (failures.length < 20) failures.push(`${path.relative(root, file)}:${n + 1}: ${msg}`);
  };
  const KEYWORDS = new Set(["let", "from", "window", "where", "except", "summarize", "examples", "by", "when", "match", "no_match", "suppressed", "at"]);
  const WORD_OPS = new Set(["has", "has_any", "has_all", "contains", "startswith", "endswith", "hasprefix", "hassuffix", "and", "or", "in", "has_cs", "contains_cs", "=~", "==", "!="]);

  for (const file of packs(path.join(root, "rules"))) {
    counts.files++;
    const lines = fs.readFileSync(file, "utf8").split("\n");
    let stack = vsctm.INITIAL;
    lines.forEach((line, n) => {
      counts.lines++;
      const r = grammar.tokenizeLine(line, stack);
      stack = r.ruleStack;
      const toks = r.tokens.map((t) => ({ text: line.slice(t.startIndex, t.endIndex), scopes: t.scopes.join(" ") }));
      const inText = (t) => /string|comment/.test(t.scopes);
      for (const t of toks) {
        const word = t.text.trim();
        if (inText(t) || word === "") continue;
        if (KEYWORDS.has(word)) {
          counts.keywords++;
          if (!t.scopes.includes("keyword.control.scry")) fail(file, n, `keyword ${word} scoped ${t.scopes}`);
        }
        if (WORD_OPS.has(word)) {
          counts.operators++;
          if (!t.scopes.includes("keyword.operator")) fail(file, n, `operator ${word} scoped ${t.scopes}`);
        }
        if (/^\d/.test(word) && !t.scopes.includes("constant.numeric")) fail(file, n, `number ${word} scoped ${t.scopes}`);
        else if (/^\d/.test(word)) counts.numbers++;
      }
      const trimmed = line.trim();
      if (trimmed.startsWith("//")) {
        counts.comments++;
        const last = toks[toks.length - 1];
        if (!toks.every((t) => t.text.trim() === "" || t.scopes.includes("comment.line"))) fail(file, n, "comment line not all comment");
        if (!last || !last.scopes.includes("comment.line.double-slash.scry")) fail(file, n, "comment not scoped");
      }
      const m = /^rule (\w+)/.exec(line);
      if (m) {
        counts.rules++;
        const kw = toks.find((t) => t.text === "rule");
        const name = toks.find((t) => t.text === m[1]);
        if (!kw || !kw.scopes.includes("keyword.control.rule.scry")) fail(file, n, "`rule` not a keyword");
        if (!name || !name.scopes.includes("entity.name.type.rule.scry")) fail(file, n, "rule name not scoped");
      }
      // Every quoted literal is one string token run, and a `//` inside one (URLs) is no comment.
      for (const q of line.matchAll(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g)) {
        const before = line.slice(0, q.index);
        const c = r.tokens.find((t) => t.scopes.some((s) => s.startsWith("comment")));
        if (c && c.startIndex <= q.index) continue; // inside a comment
        const at = q.index;
        const tok = r.tokens.find((t) => t.startIndex <= at && at < t.endIndex);
        if (before.split('"').length % 2 === 0 || before.split("'").length % 2 === 0) continue; // nested quote
        counts.strings++;
        if (!tok || !/string\.quoted/.test(tok.scopes.join(" "))) fail(file, n, `string ${q[0].slice(0, 30)} scoped ${tok && tok.scopes.join(" ")}`);
      }
      if (line.includes("https://") && !trimmed.startsWith("//")) {
        const at = line.indexOf("https://");
        const tok = r.tokens.find((t) => t.startIndex <= at && at < t.endIndex);
        if (tok && tok.scopes.join(" ").includes("comment") && !line.slice(0, at).includes("//")) fail(file, n, "URL in a string read as a comment");
      }
    });
  }
  // Forms the packs do not use (or use rarely), each with the scope every token of it must
  // carry: a grammar change that breaks one fails here even if the packs still pass.
  const FORMS = [
    ["where a has 'x' /* note */ and b == 1", "/* note */", "comment.block.scry"],
    ["/* over\ntwo lines */ rule r {", "/* over\ntwo lines */", "comment.block.scry"],
    ["where p has @'C:\\Program Files\\'", "@'C:\\Program Files\\'", "string.quoted.single.verbatim.scry"],
    ["where p has @'it''s'", "@'it''s'", "string.quoted.single.verbatim.scry"],
    ["where u == 'https://x.example/a' // c", "'https://x.example/a'", "string.quoted.single.scry"],
    ["where u == 'https://x.example/a' // c", "// c", "comment.line.double-slash.scry"],
    ["where u has 'a\\'b'", "'a\\'b'", "string.quoted.single.scry"],
    ['where f =~ "it\'s"', '"it\'s"', "string.quoted.double.scry"],
    ["let S = ```a // b\nc```;", "```a // b\nc```", "string.quoted.other.multiline.scry"],
    ["where x in~ ('a')", "in~", "keyword.operator.word.scry"],
    ["where x !has 'a'", "!has", "keyword.operator.word.scry"],
    ["where x !in ('a')", "!in", "keyword.operator.word.scry"],
    ["where x has_cs 'a'", "has_cs", "keyword.operator.word.scry"],
    ["where x matches regex 'a+'", "matches", "keyword.operator.word.scry"],
    ["where x !between (1 .. 2)", "!between", "keyword.operator.word.scry"],
    ["where x =~ 'a'", "=~", "keyword.operator.comparison.scry"],
    ["where isnotempty(x)", "isnotempty", "support.function.scry"],
    ["  window 5d", "5d", "constant.numeric.scry"],
    ["  window 5d", "window", "keyword.control.scry"],
    ["  examples at datetime(2024-05-15T12:00:00Z) {", "examples", "keyword.control.scry"],
    ['    suppressed "s" by "fp" {"a": 1}', "suppressed", "keyword.control.scry"],
    ['  title "x // y"', "title", "entity.other.attribute-name.metadata.scry"],
    ['  title "x // y"', '"x // y"', "string.quoted.double.scry"],
    ["rule servereye_x {", "servereye_x", "entity.name.type.rule.scry"],
    ["where process.parent.name =~ 'a'", "process.parent.name", "variable.other.column.scry"],
    ["where x == true", "true", "constant.language.scry"],
  ];
  for (const [text, part, scope] of FORMS) {
    counts.forms = (counts.forms || 0) + 1;
    const at = text.indexOf(part);
    if (at < 0) throw new Error(`bad form: ${part} not in ${text}`);
    let stack = vsctm.INITIAL;
    let offset = 0;
    const wrong = [];
    for (const line of text.split("\n")) {
      const r = grammar.tokenizeLine(line, stack);
      stack = r.ruleStack;
      for (const t of r.tokens) {
        const [s, e] = [offset + t.startIndex, offset + t.endIndex];
        const overlaps = s < at + part.length && at < e && line.slice(t.startIndex, t.endIndex).trim() !== "";
        if (overlaps && !t.scopes.includes(scope)) wrong.push(`${JSON.stringify(line.slice(t.startIndex, t.endIndex))} is ${t.scopes.join(" ")}`);
        if (overlaps && (s < at || e > at + part.length) && !/string|comment/.test(scope)) wrong.push(`token ${JSON.stringify(line.slice(t.startIndex, t.endIndex))} runs past ${part}`);
      }
      offset += line.length + 1;
    }
    if (wrong.length) failures.push(`form ${JSON.stringify(text)}: ${part} should be ${scope}: ${wrong.join("; ")}`);
  }
  for (const [k, v] of Object.entries(counts)) {
    if (v === 0) failures.push(`no ${k} seen: the test checked nothing`);
  }
  console.log(`tokens: ${JSON.stringify(counts)}`);
  if (failures.length) {
    console.error(failures.join("\n"));
    process.exit(1);
  }
  console.log("tokens: ok");
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
