/**
 * `openclaw` is a peer dependency resolved by the gateway at run time; it is not installed in
 * this project. This declaration covers the one import the plugin entry makes (in openclaw
 * 2026.9.6 `definePluginEntry` returns the entry with a normalized `configSchema`).
 */
declare module 'openclaw/plugin-sdk/plugin-entry' {
  export function definePluginEntry<T extends { id: string; name: string; description: string }>(
    options: T,
  ): T;
}
