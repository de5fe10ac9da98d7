// The SPARQL editor of /query: YASQE (vendor/yasqe) over the page's textarea. The textarea stays the
// form's field and the form stays what runs a query, so the page works the same without JavaScript;
// the editor adds highlighting, syntax errors as you type, the server's error position, and completion
// of our prefixes, classes and properties (from the page's #editor-config block, never from elsewhere).
(function () {
  "use strict";
  var area = document.querySelector("#query-form textarea[name=query]");
  var block = document.getElementById("editor-config");
  if (!area || !block || typeof Yasqe === "undefined") return;
  var config = JSON.parse(block.textContent);
  var form = area.form;

  // Our prefixes are predeclared by the endpoint, so a query may use sg: without declaring it:
  // completion must expand them too, not only those the query declares.
  function known(yasqe) {
    return Object.assign({}, config.prefixes, yasqe.getPrefixesFromQuery());
  }
  function expand(yasqe, token) {
    var text = token.string.trim();
    var colon = text.indexOf(":");
    token.autocompletionString = text.replace(/^</, "").replace(/>$/, "");
    if (text.charAt(0) !== "<" && colon >= 0) {
      var namespace = known(yasqe)[text.slice(0, colon)];
      if (namespace !== undefined) {
        token.tokenPrefix = text.slice(0, colon + 1);
        token.tokenPrefixUri = namespace;
        token.autocompletionString = namespace + text.slice(colon + 1);
      }
    }
    return token;
  }
  function shorten(yasqe, token, iri) {
    if (token.tokenPrefix && token.tokenPrefixUri && iri.indexOf(token.tokenPrefixUri) === 0) {
      return token.tokenPrefix + iri.slice(token.tokenPrefixUri.length);
    }
    var prefixes = known(yasqe);
    for (var name in prefixes) {
      var local = iri.slice(prefixes[name].length);
      if (iri.indexOf(prefixes[name]) === 0 && /^[A-Za-z_][\w-]*$/.test(local)) return name + ":" + local;
    }
    return "<" + iri + ">";
  }
  function terms(list) {
    return { get: list, bulk: true, persistenceId: undefined, preProcessToken: expand, postProcessSuggestion: shorten };
  }
  var ours = Object.keys(config.prefixes).map(function (name) {
    return name + ": <" + config.prefixes[name] + ">";
  });
  Yasqe.forkAutocompleter("prefixes", { name: "sgPrefixes", get: ours, persistenceId: undefined }, false);
  Yasqe.forkAutocompleter("class", Object.assign({ name: "sgClasses" }, terms(config.classes)), false);
  Yasqe.forkAutocompleter("property", Object.assign({ name: "sgProperties" }, terms(config.properties)), false);

  function run() {
    area.value = yasqe.getValue();
    if (form.requestSubmit) form.requestSubmit();
    else form.submit();
  }
  var holder = document.createElement("div");
  holder.className = "editor";
  area.parentNode.insertBefore(holder, area);
  area.hidden = true;
  var yasqe = new Yasqe(holder, {
    value: "",
    autocompleters: ["variables", "sgPrefixes", "sgClasses", "sgProperties"],
    requestConfig: { endpoint: config.endpoint, method: "GET" },
    persistenceId: null, // the page's query is the URL's, never one kept in the browser
    consumeShareLink: null,
    createShareableLink: null,
    showQueryButton: false, // the form's Run button runs it, as without JavaScript
    resizeable: true,
    editorHeight: "18rem",
    extraKeys: { "Ctrl-Enter": run, "Cmd-Enter": run },
  });
  // The endpoint predeclares our prefixes: the editor's grammar is told so, or it would mark each use
  // of sg: in a query that does not declare it as an error.
  var mode = yasqe.getMode();
  var startState = mode.startState;
  mode.startState = function () {
    var state = startState.apply(this, arguments);
    Object.assign(state.prefixes, config.prefixes);
    return state;
  };
  yasqe.setValue(area.value);
  yasqe.clearHistory();
  yasqe.on("change", function () {
    area.value = yasqe.getValue();
  });
  form.addEventListener("submit", function () {
    area.value = yasqe.getValue();
  });

  // The position of the server's error, as the engine reports it (line and column from 1).
  var error = document.getElementById("error");
  if (error && error.dataset.line) {
    var line = Number(error.dataset.line) - 1;
    var length = yasqe.getLine(line) === undefined ? 0 : yasqe.getLine(line).length;
    // At the end of the text (a missing `}`) the engine points past the last character: mark that one.
    var column = Math.max(Math.min(Number(error.dataset.column) - 1, length - 1), 0);
    yasqe.addLineClass(line, "background", "server-error-line");
    if (length > 0) {
      yasqe.markText({ line: line, ch: column }, { line: line, ch: column + 1 }, { className: "server-error" });
    }
    yasqe.getDoc().setCursor({ line: line, ch: column });
  }
  window.skategraphEditor = yasqe; // for the browser test and the curious
})();
