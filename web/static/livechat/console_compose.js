// The console's saved replies, articles, emojis, the repeated-message warning, the still-with-you reminder.

export function install(app) {
  void app;
}
