// The console's offers to accept, colleagues' chats, join (visibly or not), take over, forward, invite, leave, ratings.

export function install(app) {
  void app;
}
