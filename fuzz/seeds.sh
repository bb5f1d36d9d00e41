#!/usr/bin/env bash
# Writes the committed seed corpora, fuzz/corpus/<target>/seed-*: keys made by openssl in every
# encoding altdist reads, tokens from each minting path of the altdist CLI, the request bodies of
# Apple's documentation (../shared/seeds when present), queries, and site documents.
# Usage: fuzz/seeds.sh [path/to/altdist]     (default: target/release/altdist, built if missing)
# Structured targets read their input through `arbitrary`; their seeds carry the selector bytes
# it reads first (an enum variant is a little-endian u32 scaled to the variant count).
# The private keys are throwaway keys made for the corpus; they sign nothing else.
set -euo pipefail
cd "$(dirname "$0")/.."
altdist=${1:-target/release/altdist}
[ -x "$altdist" ] || cargo build --release -p altdist-cli
corpus=fuzz/corpus
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# key_parse: a P-256 key in every encoding, and what must be refused.
k=$corpus/key_parse
mkdir -p "$k"
openssl ecparam -name prime256v1 -genkey -noout -out "$work/sec1.pem"
cp "$work/sec1.pem" "$k/seed-sec1-pem"
openssl ecparam -name prime256v1 -genkey -out "$k/seed-sec1-with-ec-parameters-pem"
openssl pkcs8 -topk8 -nocrypt -in "$work/sec1.pem" -out "$k/seed-pkcs8-pem"
openssl ec -in "$work/sec1.pem" -outform DER -out "$k/seed-sec1-der" 2>/dev/null
openssl pkcs8 -topk8 -nocrypt -in "$work/sec1.pem" -outform DER -out "$k/seed-pkcs8-der"
openssl ec -in "$work/sec1.pem" -pubout -out "$work/public.pem" 2>/dev/null
cp "$work/public.pem" "$k/seed-spki-pem"
openssl ec -in "$work/sec1.pem" -pubout -outform DER -out "$k/seed-spki-der" 2>/dev/null
tail -c 65 "$k/seed-spki-der" > "$k/seed-uncompressed-point"
openssl ec -in "$work/sec1.pem" -pubout -conv_form compressed -out "$k/seed-spki-compressed-pem" 2>/dev/null
tr -d '\n' < "$work/public.pem" > "$k/seed-spki-one-line"
sed 's/$/\r/' "$work/public.pem" > "$k/seed-spki-crlf"
awk '{printf "%s\\n", $0}' "$work/public.pem" > "$k/seed-spki-json-escaped"
openssl ec -in "$work/sec1.pem" -aes128 -passout pass:x -out "$k/seed-sec1-encrypted-pem" 2>/dev/null
openssl ecparam -name secp384r1 -genkey -noout -out "$k/seed-p384-sec1-pem"
openssl ecparam -name secp256k1 -genkey -noout | openssl ec -pubout -out "$k/seed-secp256k1-spki-pem" 2>/dev/null
openssl genpkey -algorithm ed25519 -out "$k/seed-ed25519-pkcs8-pem"
openssl genpkey -algorithm rsa -pkeyopt rsa_keygen_bits:1024 2>/dev/null | openssl pkey -pubout -out "$k/seed-rsa-spki-pem"
openssl req -new -x509 -key "$work/sec1.pem" -subj /CN=altdist -days 1 -out "$k/seed-certificate-pem"

# jws_decode: tokens of the three kinds as the CLI mints them, signed with the test key the
# target verifies with (altdist::test_keys::SEC1_PRIVATE).
j=$corpus/jws_decode
mkdir -p "$j"
sed -n '/^pub const SEC1_PRIVATE/,/END EC PRIVATE KEY/p' crates/altdist/src/test_keys.rs \
  | sed '1d; s/\\n";$//' > "$work/test_key.pem"
tail -1 "$work/test_key.pem" | grep -qx -- '-----END EC PRIVATE KEY-----' \
  || { echo "error: cannot read the test key from test_keys.rs" >&2; exit 1; }
"$altdist" token install --private-key "$work/test_key.pem" --kid 52c5cb04-1163-4a30-ad4f-a3433cd6a4f6 \
  --iss 6476788026 --bid com.example.app --iid 6476788026 --vid 8765432 > "$j/seed-install"
"$altdist" token install --private-key "$work/test_key.pem" --kid KEY --iss 1 --bid a.b \
  --dtype redownload --ttl 1 > "$j/seed-install-redownload"
"$altdist" token marketplace --private-key "$work/test_key.pem" --iss 6476788026 \
  --pid TEAM123456 > "$j/seed-marketplace"
"$altdist" token marketplace --private-key "$work/test_key.pem" --iss 6476788026 \
  --pid TEAM123456 --kid 52c5cb04-1163-4a30-ad4f-a3433cd6a4f6 > "$j/seed-marketplace-kid"
"$altdist" token api --private-key "$work/test_key.pem" --key-id 2X9R4HXF34 \
  --issuer-id 69a6de70-03db-47e3-e053-5b8c7c11a4d1 > "$j/seed-api-team"
"$altdist" token api --private-key "$work/test_key.pem" --key-id 2X9R4HXF34 --individual \
  --scope 'GET /v1/apps?filter[platform]=IOS' --ttl 600 > "$j/seed-api-individual-scope"

# create_body: [endpoint u32][content type u32 = application/json][body].
c=$corpus/create_body
mkdir -p "$c"
body() { printf "$1\0\0\0\0" > "$c/seed-$2"; cat >> "$c/seed-$2"; }
apple=../shared/seeds/add-an-alternative-distribution-key.txt
if [ -f "$apple" ]; then
  # Apple's two request examples (the first POST line is the URL section): a one-line PEM,
  # and one with raw line breaks (not JSON).
  awk '/^POST /{n++; on=1; next} on && /^```/{on=0} on{print > ("'"$work"'/apple-" n)}' "$apple"
  body '\0\0\0\0' apple-one-line-pem < "$work/apple-2"
  body '\0\0\0\0' apple-raw-line-breaks < "$work/apple-3"
fi
key_json=$(awk '{printf "%s\\n", $0}' "$work/public.pem")
body '\0\0\0\0' key-app-specific <<JSON
{"data":{"type":"alternativeDistributionKeys","id":null,"attributes":{"publicKey":"$key_json"},"relationships":{"app":{"data":{"type":"apps","id":"6476788026"}}}}}
JSON
body '\0\0\0\x40' domain <<'JSON'
{"data":{"type":"alternativeDistributionDomains","attributes":{"domain":"Apps.Example.COM.","referenceName":" Web site "}}}
JSON
printf '{"token":"%s","appId":"6476788026"}' "$(cat "$j/seed-install")" | body '\0\0\0\x80' verify-token
body '\0\0\0\xc0' site-check <<'JSON'
{"url":"https://apps.example.com","appId":"6476788026","page":"https://apps.example.com/install"}
JSON

# query_params: [endpoint u8][position i64][query].
q=$corpus/query_params
mkdir -p "$q"
query() { printf "$1\x96\0\0\0\0\0\0\0%s" "$2" > "$q/seed-$3"; }
query '\0' 'limit=200&exists[app]=false&fields[alternativeDistributionKeys]=publicKey' keys
query '\4' 'filter[name]=A,B%20C&filter[id]=1,2&sort=-bundleId,name&fields%5Bapps%5D=name,sku&limit=5' apps
query '\4' "cursor=$(printf '{"offset":50}' | base64 | tr '+/' '-_' | tr -d '=')&limit=50" apps-cursor
query '\2' "cursor=$(printf '{"after":7}' | base64 | tr '+/' '-_' | tr -d '=')" domains-cursor
query '\0' 'limit=0&exists[app]=maybe&fields[alternativeDistributionKeys]=' keys-invalid

# site_documents and install_links: what the reference website serves.
s=$corpus/site_documents
mkdir -p "$s"
u=https://apps.example.com
cat > "$s/seed-well-known" <<JSON
{"license":{"dynamicLicenseURL":"$u/license","licenseRenewalURL":"$u/license/renew","licenseResolutionURL":"$u/license/expired","signingCertificateURL":"$u/license/signing.cer","encryptionCertificateURL":"$u/license/encryption.cer"},"restore":"$u/restore","updates":{"url":"$u/updates","pollingInterval":24},"overridesByAppleItemID":{"6476788026":{"license":{"dynamicLicenseURL":"$u/l"},"restore":"$u/r","updates":{"url":"$u/u","pollingInterval":1}}}}
JSON
cat > "$s/seed-oauth-metadata" <<JSON
{"issuer":"$u","authorization_endpoint":"$u/authorize","token_endpoint":"$u/token","response_types_supported":["code"],"code_challenge_methods_supported":["S256"]}
JSON
cat > "$s/seed-manifest" <<'JSON'
{"distributionPackageRevision":1,"appleItemId":"6476788026","bundleId":"com.example.app","shortVersionString":"1.0","bundleVersion":"1","appleVersionId":"8765432","platforms":["ios"],"minimumSystemVersions":{"ios":"17.4"},"requiredDeviceCapabilities":["arm64"],"appInstallDeterminants":[],"variants":[{"publicId":"v1","assetPath":"variant/v1.ipa","installTargets":[{"device":"iPhone14,5","os":"17.4"}]}],"deltas":[]}
JSON
cat > "$s/seed-restore-answer" <<JSON
{"restore":[{"appleItemId":"6476788026","alternativeDistributionPackage":"$u/package/6476788026/8765432","appleVersionId":"8765432"}],"failures":[{"appleItemId":"1","error":{"code":"notFound","message":"no such app"}}]}
JSON
l=$corpus/install_links
mkdir -p "$l"
token=$(cat "$j/seed-install")
printf '<a id="install" href="marketplace-kit://install?alternativeDistributionPackage=%s&amp;installVerificationToken=%s&amp;appShareURL=%s">Install</a>\n' \
  "$u%2Fpackage%2F6476788026%2F8765432" "$token" "$u%2F" > "$l/seed-install-page"
printf '<script>location.href = "marketplace-kit://install?alternativeDistributionPackage=%s&installVerificationToken=a.b&token=visitor&account=1&x=y"</script>\n' \
  "$u/p" > "$l/seed-script-link"
