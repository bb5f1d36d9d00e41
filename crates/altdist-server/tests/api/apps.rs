//! `/v1/apps`.

use altdist_server::admin::{self, AppSpec};

use crate::common::{Backend, TestServer};

async fn list_filter_sort_and_fields(backend: Backend) {
    let server = TestServer::start_on(backend).await;
    let admin = server.admin().await;
    for (name, bundle, sku, made_for_kids) in [
        ("Charlie", "com.example.c", "SKU-1", false),
        ("Alpha", "com.example.a", "SKU-3", true),
        ("Bravo", "com.example.b", "SKU-2", false),
    ] {
        let spec = AppSpec {
            name: name.into(),
            bundle_id: bundle.into(),
            sku: Some(sku.into()),
            primary_locale: "en-US".into(),
            marketplace: false,
            made_for_kids,
        };
        admin::create_app(&server.db, &admin.issuer, &spec)
            .await
            .unwrap();
    }
    let names = |response: &crate::common::TestResponse| -> Vec<String> {
        response.json["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|app| app["attributes"]["name"].as_str().unwrap_or("-").to_owned())
            .collect()
    };
    let all = server.get(&admin, "/v1/apps").await;
    assert_eq!(
        names(&all),
        ["Charlie", "Alpha", "Bravo"],
        "creation order by default"
    );
    assert_eq!(all.json["meta"]["paging"]["total"], 3);
    let app = &all.json["data"][0];
    assert_eq!(app["attributes"]["bundleId"], "com.example.c");
    assert_eq!(app["attributes"]["primaryLocale"], "en-US");
    // Always there, as in Apple's App: clients like asconnect require it.
    assert_eq!(app["attributes"]["isOrEverWasMadeForKids"], false);
    assert_eq!(
        all.json["data"][1]["attributes"]["isOrEverWasMadeForKids"],
        true
    );
    let id = app["id"].as_str().unwrap();
    assert!(
        id.bytes().all(|b| b.is_ascii_digit()) && id.len() == 10,
        "{id}"
    );
    assert_eq!(
        app["relationships"]["alternativeDistributionKey"]["links"]["related"],
        server.url(&format!("/v1/apps/{id}/alternativeDistributionKey"))
    );

    assert_eq!(
        names(&server.get(&admin, "/v1/apps?sort=name").await),
        ["Alpha", "Bravo", "Charlie"]
    );
    assert_eq!(
        names(&server.get(&admin, "/v1/apps?sort=-sku").await),
        ["Alpha", "Bravo", "Charlie"]
    );
    assert_eq!(
        names(&server.get(&admin, "/v1/apps?sort=-bundleId").await),
        ["Charlie", "Bravo", "Alpha"]
    );
    let filtered = server
        .get(&admin, "/v1/apps?filter[name]=Alpha,Bravo&sort=-name")
        .await;
    assert_eq!(names(&filtered), ["Bravo", "Alpha"]);
    assert_eq!(filtered.json["meta"]["paging"]["total"], 2);
    assert_eq!(
        filtered.json["links"]["self"],
        server.url("/v1/apps?filter%5Bname%5D=Alpha,Bravo&sort=-name")
    );
    assert_eq!(
        names(
            &server
                .get(&admin, "/v1/apps?filter[bundleId]=com.example.b")
                .await
        ),
        ["Bravo"]
    );
    assert_eq!(
        names(&server.get(&admin, "/v1/apps?filter[sku]=SKU-1").await),
        ["Charlie"]
    );
    assert_eq!(
        names(
            &server
                .get(&admin, &format!("/v1/apps?filter[id]={id}"))
                .await
        ),
        ["Charlie"]
    );
    assert_eq!(
        names(&server.get(&admin, "/v1/apps?filter[name]=Nope").await),
        Vec::<String>::new()
    );

    let paged = server
        .get(&admin, "/v1/apps?sort=name&limit=2&fields[apps]=name")
        .await;
    assert_eq!(names(&paged), ["Alpha", "Bravo"]);
    assert!(paged.json["data"][0].get("relationships").is_none());
    assert!(paged.json["data"][0]["attributes"].get("sku").is_none());
    let next = paged.json["links"]["next"].as_str().unwrap();
    assert!(
        next.contains("fields%5Bapps%5D=name") && !next.contains('['),
        "{next}"
    );
    let rest = server
        .get(&admin, next.strip_prefix(&server.base).unwrap())
        .await;
    assert_eq!(names(&rest), ["Charlie"]);

    let only_key = server
        .get(&admin, "/v1/apps?fields[apps]=alternativeDistributionKey")
        .await;
    assert!(only_key.json["data"][0].get("attributes").is_none());
    assert!(only_key.json["data"][0]["relationships"].is_object());

    // The contract: an empty value or an empty item in a list is a 400 naming the parameter,
    // as is an item its declaration does not allow.
    for (query, parameter) in [
        ("sort=price", "sort"),
        ("fields[apps]=price", "fields[apps]"),
        ("limit=0", "limit"),
        ("limit=", "limit"),
        ("cursor=", "cursor"),
        ("fields[apps]=", "fields[apps]"),
        ("fields[apps]=name,,bundleId", "fields[apps]"),
        ("sort=", "sort"),
        ("sort=name,", "sort"),
        ("filter[id]=", "filter[id]"),
        ("filter[id]=1,,2", "filter[id]"),
        ("filter[name]=", "filter[name]"),
        ("filter[bundleId]=,", "filter[bundleId]"),
        ("filter[sku]=a,,b", "filter[sku]"),
        ("fields[apps]=name,%20sku", "fields[apps]"),
    ] {
        let error = server
            .get(&admin, &format!("/v1/apps?{query}"))
            .await
            .assert_error(400, "PARAMETER_ERROR.INVALID")
            .clone();
        assert_eq!(error["source"]["parameter"], parameter, "{query}");
    }
    for query in ["fields[apps]=", "fields[apps]=name,"] {
        let error = server
            .get(&admin, &format!("/v1/apps/{id}?{query}"))
            .await
            .assert_error(400, "PARAMETER_ERROR.INVALID")
            .clone();
        assert_eq!(error["source"]["parameter"], "fields[apps]", "{query}");
    }
    for query in ["filter[platform]=IOS", "include=builds"] {
        server
            .get(&admin, &format!("/v1/apps?{query}"))
            .await
            .assert_error(400, "PARAMETER_ERROR.ILLEGAL");
    }
}
backend_test!(list_filter_sort_and_fields);

async fn read_one_app(backend: Backend) {
    let server = TestServer::start_on(backend).await;
    let admin = server.admin().await;
    let app = server.app(&admin.issuer, "com.example.read").await;
    let read = server.get(&admin, &format!("/v1/apps/{app}")).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.json["data"]["id"], app.as_str());
    assert_eq!(
        read.json["links"]["self"],
        server.url(&format!("/v1/apps/{app}"))
    );
    let sparse = server
        .get(&admin, &format!("/v1/apps/{app}?fields[apps]=bundleId,sku"))
        .await;
    assert_eq!(
        sparse.json["links"]["self"],
        server.url(&format!("/v1/apps/{app}?fields%5Bapps%5D=bundleId,sku"))
    );
    assert_eq!(
        sparse.json["data"]["attributes"]["bundleId"],
        "com.example.read"
    );
    server
        .get(&admin, "/v1/apps/6476788026")
        .await
        .assert_error(404, "NOT_FOUND");
    server
        .get(&admin, &format!("/v1/apps/{app}?limit=1"))
        .await
        .assert_error(400, "PARAMETER_ERROR.ILLEGAL");
}
backend_test!(read_one_app);
