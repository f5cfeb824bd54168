// SkillForge's code editor: every <textarea class="code"> becomes a CodeMirror 6 editor.
//
// Progressive enhancement: the textarea stays in the form (hidden) and always holds the
// editor's text, so the form posts exactly what it would without JavaScript. Without
// JavaScript the page shows the plain textareas and still works.
//
//   <textarea class="code" data-lang="python|yaml|dockerfile|toml|markdown|json"
//             data-filename="fetcher.py">          the language, or inferred from the file name
//   <div data-editor-tabs> … <div data-editor-file>label + textarea</div> … </div>
//                                                  one tab per file (a WAI-ARIA tablist)
//   <form data-autosave-url="/labs/x/draft/">      the form's fields are POSTed there (debounced)
//                                                  after each edit; [data-autosave-status] says so
//   Ctrl/Cmd+Enter in an editor submits its form (the keyboard submit).
//   Tab indents; Escape then Tab moves the focus on (CodeMirror's accessible default).
import { basicSetup } from "codemirror";
import { EditorView, keymap } from "@codemirror/view";
import { EditorState, Prec } from "@codemirror/state";
import { indentWithTab } from "@codemirror/commands";
import { StreamLanguage, indentUnit } from "@codemirror/language";
import { python } from "@codemirror/lang-python";
import { yaml } from "@codemirror/lang-yaml";
import { markdown } from "@codemirror/lang-markdown";
import { toml } from "@codemirror/legacy-modes/mode/toml";
import { dockerFile } from "@codemirror/legacy-modes/mode/dockerfile";
import { json } from "@codemirror/legacy-modes/mode/javascript";

const LANGUAGES = {
  python: () => python(),
  yaml: () => yaml(),
  markdown: () => markdown(),
  toml: () => StreamLanguage.define(toml),
  dockerfile: () => StreamLanguage.define(dockerFile),
  json: () => StreamLanguage.define(json),
};

export function languageFor(lang, filename) {
  lang = (lang || "").toLowerCase();
  if (LANGUAGES[lang]) return lang;
  const name = (filename || "").split("/").pop().toLowerCase();
  if (name === "dockerfile" || name.startsWith("dockerfile.") || name.endsWith(".dockerfile")) return "dockerfile";
  const ext = name.includes(".") ? name.split(".").pop() : "";
  return { py: "python", pyi: "python", yml: "yaml", yaml: "yaml", md: "markdown", markdown: "markdown",
           toml: "toml", json: "json", ipynb: "json" }[ext] || "";
}

const theme = EditorView.theme({
  "&": { fontSize: ".875rem", border: "1px solid var(--line, #c5ccd8)", borderRadius: "var(--radius, 8px)",
         backgroundColor: "#fff" },
  "&.cm-focused": { outline: "3px solid var(--focus, #1a4fc4)", outlineOffset: "2px" },
  ".cm-scroller": { fontFamily: "var(--mono, ui-monospace, monospace)", lineHeight: "1.45", minHeight: "16rem",
                    maxHeight: "70vh" },
  ".cm-content": { minHeight: "16rem" },
  ".cm-gutters": { backgroundColor: "#f3f5f9", color: "#4a5466", borderRight: "1px solid #dde2ea" },
});

function labelFor(textarea) {
  if (!textarea.id) return null;
  return document.querySelector(`label[for="${CSS.escape(textarea.id)}"]`);
}

function submitForm(form) {
  if (!form) return false;
  // The button marked data-keyboard-submit, else the form's main (not secondary) submit button.
  const button = form.querySelector("[data-keyboard-submit]")
    || form.querySelector("button[type=submit]:not(.secondary):not(.link):not(.danger)")
    || form.querySelector("button[type=submit]");
  if (form.requestSubmit) form.requestSubmit(button || undefined); else form.submit();
  return true;
}

function enhanceTextarea(textarea) {
  if (textarea.dataset.editor === "on" || textarea.dataset.editor === "off") return null;
  textarea.dataset.editor = "on";
  const lang = languageFor(textarea.dataset.lang, textarea.dataset.filename);
  const form = textarea.form;
  const extensions = [
    basicSetup,
    // Before basicSetup's keymap, whose Mod-Enter inserts a blank line.
    Prec.highest(keymap.of([
      { key: "Mod-Enter", run: () => submitForm(form) },
      { key: "Mod-s", preventDefault: true, run: () => { form && form.dispatchEvent(new Event("sf:save")); return true; } },
    ])),
    keymap.of([indentWithTab]),
    indentUnit.of("    "),
    EditorState.tabSize.of(4),
    theme,
    EditorView.lineWrapping,
    EditorView.updateListener.of((update) => {
      if (!update.docChanged) return;
      textarea.value = update.state.doc.toString();
      textarea.dispatchEvent(new Event("input", { bubbles: true }));
    }),
  ];
  if (lang) extensions.push(LANGUAGES[lang]());
  if (textarea.readOnly || textarea.disabled) extensions.push(EditorState.readOnly.of(true), EditorView.editable.of(false));
  const label = labelFor(textarea);
  // tabindex: the content is focusable anyway (contenteditable); saying so lets checkers such as axe
  // see that the scrolling editor is reachable from the keyboard.
  const attrs = { "aria-multiline": "true", spellcheck: "false", autocapitalize: "off", autocorrect: "off", tabindex: "0" };
  if (label) {
    if (!label.id) label.id = `${textarea.id}-label`;
    attrs["aria-labelledby"] = label.id;
  } else if (textarea.getAttribute("aria-label")) {
    attrs["aria-label"] = textarea.getAttribute("aria-label");
  }
  if (textarea.getAttribute("aria-describedby")) attrs["aria-describedby"] = textarea.getAttribute("aria-describedby");
  extensions.push(EditorView.contentAttributes.of(attrs));

  const wrapper = document.createElement("div");
  wrapper.className = "cm-wrap";
  wrapper.dataset.lang = lang || "text";
  textarea.insertAdjacentElement("afterend", wrapper);
  const view = new EditorView({ state: EditorState.create({ doc: textarea.value, extensions }), parent: wrapper });
  textarea.hidden = true;
  textarea.setAttribute("aria-hidden", "true");
  textarea.tabIndex = -1;
  textarea.cmView = view;  // for tests and other scripts: textarea.cmView.state.doc.toString()
  if (label) label.addEventListener("click", (event) => { event.preventDefault(); view.focus(); });
  return view;
}

// --- tabs -----------------------------------------------------------------------------------

let tabCounter = 0;

function enhanceTabs(container) {
  if (container.dataset.tabs === "on") return;
  const panels = Array.from(container.querySelectorAll(":scope > [data-editor-file]"));
  if (panels.length < 2) return;
  container.dataset.tabs = "on";
  const list = document.createElement("div");
  list.className = "tabs";
  list.setAttribute("role", "tablist");
  list.setAttribute("aria-label", container.dataset.editorTabs || "Files");
  const tabs = panels.map((panel) => {
    const id = `sf-tab-${++tabCounter}`;
    panel.id = panel.id || `${id}-panel`;
    panel.setAttribute("role", "tabpanel");
    panel.setAttribute("aria-labelledby", id);
    const tab = document.createElement("button");
    tab.type = "button";
    tab.id = id;
    tab.className = "tab";
    tab.setAttribute("role", "tab");
    tab.setAttribute("aria-controls", panel.id);
    tab.textContent = panel.dataset.editorFile;
    list.appendChild(tab);
    return tab;
  });
  const select = (index, focus) => {
    tabs.forEach((tab, i) => {
      const on = i === index;
      tab.setAttribute("aria-selected", on ? "true" : "false");
      tab.tabIndex = on ? 0 : -1;
      panels[i].hidden = !on;
    });
    if (focus) tabs[index].focus();
    const textarea = panels[index].querySelector("textarea");
    if (textarea && textarea.cmView) textarea.cmView.requestMeasure();
  };
  tabs.forEach((tab, i) => {
    tab.addEventListener("click", () => select(i, false));
    tab.addEventListener("keydown", (event) => {
      const moves = { ArrowRight: 1, ArrowLeft: -1, Home: -i, End: tabs.length - 1 - i };
      if (!(event.key in moves)) return;
      event.preventDefault();
      select((i + moves[event.key] + tabs.length) % tabs.length, true);
    });
  });
  container.insertBefore(list, panels[0]);
  select(0, false);
}

// --- autosave -------------------------------------------------------------------------------

function enhanceAutosave(form) {
  if (form.dataset.autosave === "on") return;
  form.dataset.autosave = "on";
  const url = form.dataset.autosaveUrl;
  const status = form.querySelector("[data-autosave-status]") || document.querySelector("[data-autosave-status]");
  let timer = null;
  let inflight = Promise.resolve();
  const say = (text) => { if (status) status.textContent = text; };
  const save = () => {
    clearTimeout(timer);
    timer = null;
    const data = new FormData();
    for (const field of form.querySelectorAll("textarea[name]")) data.append(field.name, field.value);
    const token = form.querySelector("input[name=csrfmiddlewaretoken]");
    if (token) data.append("csrfmiddlewaretoken", token.value);
    say("Saving draft…");
    inflight = inflight.then(() => fetch(url, {
      method: "POST", body: data, credentials: "same-origin", keepalive: true,
      headers: { "X-Requested-With": "fetch", Accept: "application/json" },
    }).then((response) => response.json().then((body) => {
      if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
      say(`Draft saved at ${body.saved_at_display || new Date().toLocaleTimeString()}`);
      form.dataset.draftSaved = body.saved_at || "";
    })).catch((error) => say(`Draft not saved (${error.message}); your text is still here.`)));
    return inflight;
  };
  form.addEventListener("input", () => {
    clearTimeout(timer);
    say("Unsaved changes");
    timer = setTimeout(save, Number(form.dataset.autosaveDelay || 800));
  });
  form.addEventListener("sf:save", save);
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "hidden" && timer) save(); });
  form.sfSaveDraft = save;
}

export function enhance(root = document) {
  for (const textarea of root.querySelectorAll("textarea.code")) enhanceTextarea(textarea);
  for (const container of root.querySelectorAll("[data-editor-tabs]")) enhanceTabs(container);
  for (const form of root.querySelectorAll("form[data-autosave-url]")) enhanceAutosave(form);
  for (const form of root.querySelectorAll("form[data-keyboard-submit-form]")) {
    if (form.dataset.kbd === "on") continue;
    form.dataset.kbd = "on";
    form.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && !event.defaultPrevented) {
        event.preventDefault();
        submitForm(form);
      }
    });
  }
}

window.SkillForgeEditor = { enhance, languageFor };
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => enhance());
else enhance();
document.addEventListener("htmx:afterSettle", (event) => enhance(event.target));
