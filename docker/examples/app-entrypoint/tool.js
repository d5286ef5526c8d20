#!/usr/bin/env node
// A tool run through env (any `#!/usr/bin/env NAME` script): dead without /usr/bin/env.
console.log("tool: ok");
