#!/bin/sh
# `deno task start`: runs `deno run -q -P mod.ts` with the arguments given.
#
# Why a script: inside `deno task`, a command named `deno` resolves to node_modules/.bin/deno
# first. After `npm ci` that is the `deno` devDependency's native binary, which `deno task` then
# tries to run as JavaScript and fails; after a Deno-only `deno install` it is a Node shim. So this
# prefers the user's own `deno` (the PATH the task runner was given, without the node_modules/.bin
# directories it puts in front), and falls back to node_modules' binary when there is no other.
# -q: no "experimental feature" warning for deno.json's permission set.
full_path=$PATH
PATH=${PATH##*node_modules/.bin:}
command -v deno >/dev/null 2>&1 || PATH=$full_path
exec deno run -q -P mod.ts "$@"
