/**
 * The OpenClaw plugin entry (`openclaw.extensions` points here). The only module that imports
 * the OpenClaw SDK; the gateway provides it at run time (a peer dependency), so the library and
 * the CLI never load it.
 */
import { definePluginEntry } from 'openclaw/plugin-sdk/plugin-entry';
import { createPluginEntry } from './register.js';

export default definePluginEntry(createPluginEntry());
