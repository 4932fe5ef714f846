// The package is "type": "module"; the CommonJS build says so of itself.
import { writeFileSync } from 'node:fs'
writeFileSync(new URL('./dist/cjs/package.json', import.meta.url), '{ "type": "commonjs" }\n')
