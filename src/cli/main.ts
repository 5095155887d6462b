#!/usr/bin/env node
/** The `claude-pod` executable: see ./program.ts. */
import { runCli } from './program.js';

const code = await runCli(process.argv.slice(2));
process.exitCode = code;
// Nothing should keep the process alive once a command has returned; if something does (a
// runtime child that ignores its signal), do not hang the shell.
setTimeout(() => process.exit(code), 3000).unref();
