import packageJson from '../package.json' with { type: 'json' };

/** The agent's version and the commit it was built from (stamped by the bundler; "source" when run from the tree). */

declare const WINPROV_COMMIT: string | undefined;

export const AGENT_VERSION: string = packageJson.version;
export const AGENT_COMMIT: string = typeof WINPROV_COMMIT === 'string' ? WINPROV_COMMIT : 'source';
