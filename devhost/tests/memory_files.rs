//! Files in the in-memory backend: upload, info, content, copies and attachment to posts.

#[path = "memory_support.rs"]
mod support;

use mattermost_plugin_api::{PluginApi, pb};
use mattermost_plugin_devhost::backend::memory::is_valid_id;
use support::{UNKNOWN_ID, World, ctx, expect_status};

async fn upload(world: &World, data: &[u8], name: &str) -> pb::FileInfo {
    world
        .backend
        .upload_file(&ctx(), data.to_vec(), world.channel.id.clone(), name.into())
        .await
        .expect("upload")
        .expect("file info")
}

#[tokio::test]
async fn uploaded_files_have_info_and_content() {
    let world = World::seeded();
    let info = upload(&world, b"\x89PNG fake", "dir/Diagram.PNG").await;
    assert!(is_valid_id(&info.id));
    assert_eq!(info.name, "Diagram.PNG", "directories are stripped");
    assert_eq!(
        (info.extension.as_str(), info.mime_type.as_str()),
        ("png", "image/png")
    );
    assert_eq!(info.size, 9);
    assert_eq!(info.channel_id, world.channel.id);
    assert!(info.post_id.is_empty());
    assert!(info.create_at > 0);

    let fetched = world
        .backend
        .get_file_info(&ctx(), info.id.clone())
        .await
        .unwrap();
    assert_eq!(fetched, Some(info.clone()));
    let content = world
        .backend
        .get_file(&ctx(), info.id.clone())
        .await
        .unwrap();
    assert_eq!(content, b"\x89PNG fake");
}

#[tokio::test]
async fn upload_and_lookup_errors() {
    let world = World::seeded();
    let backend = &world.backend;
    expect_status(
        backend
            .upload_file(&ctx(), b"x".to_vec(), UNKNOWN_ID.into(), "a.txt".into())
            .await,
        404,
        "UploadFile",
    );
    expect_status(
        backend
            .upload_file(
                &ctx(),
                b"x".to_vec(),
                world.channel.id.clone(),
                "dir/".into(),
            )
            .await,
        400,
        "UploadFile",
    );
    expect_status(
        backend.get_file(&ctx(), UNKNOWN_ID.into()).await,
        404,
        "GetFile",
    );
    expect_status(
        backend.get_file_info(&ctx(), "bad".into()).await,
        400,
        "GetFileInfo",
    );
}

#[tokio::test]
async fn copies_share_content_but_not_identity() {
    let world = World::seeded();
    let original = upload(&world, b"report", "report.txt").await;
    let copies = world
        .backend
        .copy_file_infos(&ctx(), world.bob.id.clone(), vec![original.id.clone()])
        .await
        .unwrap();
    assert_eq!(copies.len(), 1);
    assert_ne!(copies[0], original.id);
    let copy = world
        .backend
        .get_file_info(&ctx(), copies[0].clone())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(copy.user_id, world.bob.id);
    assert_eq!(
        (copy.name.as_str(), copy.size),
        ("report.txt", original.size)
    );
    assert_eq!(
        world.backend.get_file(&ctx(), copy.id).await.unwrap(),
        b"report"
    );

    expect_status(
        world
            .backend
            .copy_file_infos(
                &ctx(),
                world.bob.id.clone(),
                vec![original.id, UNKNOWN_ID.into()],
            )
            .await,
        404,
        "CopyFileInfos",
    );
}

#[tokio::test]
async fn posting_with_file_ids_attaches_the_files() {
    let world = World::seeded();
    let file = upload(&world, b"data", "data.csv").await;
    let post = world
        .backend
        .create_post(
            &ctx(),
            Some(pb::Post {
                user_id: world.alice.id.clone(),
                channel_id: world.channel.id.clone(),
                message: "see attached".into(),
                file_ids: vec![file.id.clone()],
                ..Default::default()
            }),
        )
        .await
        .unwrap()
        .unwrap();
    let attached = world
        .backend
        .get_file_info(&ctx(), file.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(attached.post_id, post.id);
    let stats = world
        .backend
        .get_channel_stats(&ctx(), world.channel.id.clone())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stats.files_count, 1);
}
