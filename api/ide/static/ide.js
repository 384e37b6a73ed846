// Starts GraphiQL with the tabs the server prepared (api/ide/__init__.py). No inline script:
// the configuration travels as JSON in #ide-config.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("ide-config").textContent);
  var http = GraphiQL.createFetcher({ url: config.url });
  var PLACEHOLDER = "<paste";

  // A tab whose Authorization still holds the "<paste ...>" hint has no token yet: the schema
  // is introspected anonymously (so the docs and completion work), and running a document
  // says what to paste instead of sending a malformed token.
  function fetcher(params, options) {
    var headers = Object.assign({}, options && options.headers);
    var auth = String(headers.Authorization || "");
    if (auth.indexOf(PLACEHOLDER) !== -1) {
      delete headers.Authorization;
      if (params.operationName !== "IntrospectionQuery") {
        return Promise.resolve({
          errors: [{ message: "Paste a token into Headers first. " + auth }],
        });
      }
    }
    return http(params, Object.assign({}, options, { headers: headers }));
  }

  var first = config.tabs[0];
  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultTabs: config.tabs,
      // The editors open on the first tab; GraphiQL takes their initial text from these.
      query: first.query,
      variables: first.variables || undefined,
      headers: first.headers,
      defaultEditorToolsVisibility: "headers",
      isHeadersEditorEnabled: true,
      // Tokens stay out of localStorage.
      shouldPersistHeaders: false,
    }),
  );
})();
