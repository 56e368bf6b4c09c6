// The candidate chat's the rating prompt, transfers.

export function install(app) {
  void app;
}
