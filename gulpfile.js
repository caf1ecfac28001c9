// Copies what tsc does not emit next to the compiled files: Node-RED editor
// HTML, locales, icons, the simulator's web pages, n8n icons and codex files.
const { src, dest, parallel } = require('gulp');

const copy = (glob, base) => () => src(glob, { base, encoding: false, allowEmpty: true }).pipe(dest('dist'));

exports.default = parallel(
  copy(['node-red/**/*.html', 'node-red/locales/**/*', 'node-red/icons/**/*'], '.'),
  copy(['simulator/public/**/*'], '.'),
  copy(['nodes/**/*.{svg,png,json}', 'credentials/**/*.{svg,png}'], '.'),
);
