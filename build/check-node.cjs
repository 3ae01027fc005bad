// Plain CommonJS so it runs on any Node: fails loudly when the pinned runtime (devDependency "node") is not
// the one running. Without it, `npm ci --ignore-scripts` falls back to an older system Node whose
// `node --test` finds no .ts files and exits 0 after running zero tests.
const major = Number(process.versions.node.split('.')[0]);
if (!(major >= 24)) {
  console.error(`winprov: Node ${process.version} is running; this project needs Node >= 24.`);
  console.error('The devDependency "node" provides it in node_modules/.bin: run "npm ci" (without --ignore-scripts), then use npm run / npx.');
  process.exit(1);
}
