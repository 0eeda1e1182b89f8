// Compile one Solidity standard-JSON input with a pinned npm solc (never a downloaded binary).
// stdin: {"solc": "<npm package name>", "root": "<repo root>", "input": <standard JSON>}
// stdout: the compiler's standard JSON output. Imports resolve against node_modules and the repo.
"use strict";
const fs = require("fs");
const path = require("path");

const request = JSON.parse(fs.readFileSync(0, "utf8"));
const root = request.root;
const solc = require(path.join(root, "node_modules", request.solc));

function findImports(importPath) {
  for (const base of [path.join(root, "node_modules"), root]) {
    const candidate = path.join(base, importPath);
    if (fs.existsSync(candidate)) {
      return { contents: fs.readFileSync(candidate, "utf8") };
    }
  }
  return { error: "not found: " + importPath };
}

const output = solc.compile(JSON.stringify(request.input), { import: findImports });
process.stdout.write(output);
