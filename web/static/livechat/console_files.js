// The console's attachments: send files, show and download them.

export function install(app) {
  void app;
}
