// The candidate chat's the emoji picker.

export function install(app) {
  void app;
}
