// Runs the graphql-http server audits (GraphQL-over-HTTP spec) against a URL and prints one
// JSON array: each audit's id, name (it starts with MUST, SHOULD or MAY), status and reason,
// and whether any of its requests used introspection (`__type`, `__schema`).
const { serverAudits } = require("graphql-http");

async function main() {
  const results = [];
  let introspection = false;
  const fetchFn = (input, init) => {
    const seen = `${typeof input === "string" ? input : input.url} ${(init && init.body) || ""}`;
    if (/__type\(|__schema/.test(decodeURIComponent(seen))) introspection = true;
    return fetch(input, init);
  };
  for (const audit of serverAudits({ url: process.argv[2], fetchFn })) {
    introspection = false;
    const result = await audit.fn();
    results.push({
      id: audit.id,
      name: audit.name,
      status: result.status,
      reason: result.reason || null,
      introspection,
    });
  }
  process.stdout.write(JSON.stringify(results));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
