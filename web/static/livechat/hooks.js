// Plugin hooks shared by the console (console.js) and the candidate chat (candidate.js): named events that plugins
// listen to; a failing listener is logged and never stops the others or the page.

export class Hooks {
  constructor(label) {
    this.label = label;
    this.listeners = new Map();
  }

  on(name, fn) {
    if (!this.listeners.has(name)) this.listeners.set(name, []);
    this.listeners.get(name).push(fn);
  }

  emit(name, ...args) {
    for (const fn of this.listeners.get(name) || []) {
      try {
        fn(...args);
      } catch (err) {
        console.error(`${this.label} ${name} hook:`, err);
      }
    }
  }
}

// Loads plugin modules (each exports install(app)) after the page's own code: one that fails is logged, the rest load.
export function loadPlugins(app, names) {
  for (const name of names) {
    import(`./${name}`).then((mod) => mod.install(app)).catch((err) => console.error(`plugin ${name}:`, err));
  }
}
