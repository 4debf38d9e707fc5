// Arguments and listener parameters have the declared types.
#[ferrio::socketio_events]
pub trait Chat {
    #[emit]
    fn join(room: String) -> u32;
    #[on]
    fn typing(user: String, active: bool);
}

async fn run(chat: ChatSocket) -> Result<(), ferrio::Error> {
    let members: String = chat.emit_join(42).await?;
    chat.on_typing(|user: String| async move { drop(user) });
    drop(members);
    Ok(())
}

fn main() {
    let _ = run;
}
