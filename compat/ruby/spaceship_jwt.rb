# ruby-jwt minting App Store Connect tokens the way fastlane's Spaceship does
# (spaceship/lib/spaceship/connect_api/token.rb), the API driven with Net::HTTP.
# Apple's own Ruby sample and countless CI scripts make the same JWT.encode call.
require 'base64'
require 'json'
require 'jwt'
require 'net/http'
require 'openssl'
require 'uri'

BASE = ENV.fetch('ASC_BASE_URL')
ISSUER_ID = ENV.fetch('ASC_ISSUER_ID')
KEY_ID = ENV.fetch('ASC_KEY_ID')
KEY = OpenSSL::PKey::EC.new(File.binread(ENV.fetch('ASC_PRIVATE_KEY_PATH')))
APP_ID = ENV.fetch('ASC_APP_ID')
BUNDLE_ID = ENV.fetch('ASC_BUNDLE_ID')
DOMAIN = ENV.fetch('COMPAT_DOMAIN')
PUBLIC_KEY = File.read(ENV.fetch('COMPAT_PUBLIC_KEY'))
PUBLIC_KEY_2 = File.read(ENV.fetch('COMPAT_PUBLIC_KEY_2'))

# Token#refresh! in fastlane today: typ, and iat 60 s in the past (PR #21583, 2024) "in case our
# time is slightly ahead of Apple's servers"; 500 s is its DEFAULT_TOKEN_DURATION.
def spaceship_token
  now = Time.now
  header = { kid: KEY_ID, typ: 'JWT' }
  payload = { iat: now.to_i - 60, exp: (now + 500).to_i, aud: 'appstoreconnect-v1', iss: ISSUER_ID }
  JWT.encode(payload, KEY, 'ES256', header)
end

# Token#refresh! in older fastlane releases (e.g. fastlane/fastlane at 091dded): header kid only,
# no typ, no iat, 1200 s. Scripts copied from it still send this.
def legacy_spaceship_token
  JWT.encode({ iss: ISSUER_ID, exp: Time.now.to_i + 1200, aud: 'appstoreconnect-v1' }, KEY, 'ES256', header_fields = { kid: KEY_ID })
end

puts "ruby #{RUBY_VERSION}, ruby-jwt #{JWT::VERSION::STRING}"
TOKEN = spaceship_token
LEGACY_TOKEN = legacy_spaceship_token

# Returns [status, parsed body or nil].
def request(method, path, body: nil, query: nil, token: TOKEN)
  uri = URI("#{BASE}#{path}")
  uri.query = URI.encode_www_form(query) if query
  req = Net::HTTP.const_get(method.capitalize).new(uri)
  req['Authorization'] = "Bearer #{token}"
  if body
    req['Content-Type'] = 'application/json'
    req.body = JSON.generate(body)
  end
  res = Net::HTTP.start(uri.host, uri.port, use_ssl: uri.scheme == 'https') { |http| http.request(req) }
  [res.code.to_i, res.body.to_s.empty? ? nil : JSON.parse(res.body)]
end

def expect_status(want, (status, body))
  raise "HTTP #{status}, expected #{want}: #{JSON.generate(body)}" unless status == want
  body
end

def check(cond, why)
  raise why unless cond
end

$failed = 0
def step(name)
  yield
  puts "ok #{name}"
rescue StandardError => e
  $failed += 1
  puts "FAIL #{name}: #{e.message}"
ensure
  $stdout.flush
end

def key_body(public_key)
  { data: { type: 'alternativeDistributionKeys', attributes: { publicKey: public_key },
            relationships: { app: { data: { type: 'apps', id: APP_ID } } } } }
end

key_id = domain_id = nil

step('create key') do
  body = expect_status(201, request('POST', '/v1/alternativeDistributionKeys', body: key_body(PUBLIC_KEY)))
  key_id = body['data']['id']
  check(body['data']['attributes']['publicKey'] == PUBLIC_KEY, 'publicKey differs from the PEM openssl printed')
end
step('list keys') do
  body = expect_status(200, request('GET', '/v1/alternativeDistributionKeys'))
  check(body['data'].any? { |k| k['id'] == key_id }, "key #{key_id} not listed")
end
step('read key') do
  body = expect_status(200, request('GET', "/v1/alternativeDistributionKeys/#{key_id}"))
  check(body['data']['id'] == key_id && body['data']['attributes']['publicKey'] == PUBLIC_KEY, 'wrong key')
end
step('read app key') do
  body = expect_status(200, request('GET', "/v1/apps/#{APP_ID}/alternativeDistributionKey"))
  check(body['data']['id'] == key_id, "app key is #{body['data']['id']}, expected #{key_id}")
end
step('read app key relationship') do
  body = expect_status(200, request('GET', "/v1/apps/#{APP_ID}/relationships/alternativeDistributionKey"))
  check(body['data'] == { 'type' => 'alternativeDistributionKeys', 'id' => key_id }, "linkage #{body['data']}")
end
step('list apps filter[id]') do
  body = expect_status(200, request('GET', '/v1/apps', query: { 'filter[id]' => APP_ID }))
  check(body['data'].map { |a| a['id'] } == [APP_ID], "got #{body['data'].map { |a| a['id'] }}")
end
step('read app') do
  body = expect_status(200, request('GET', "/v1/apps/#{APP_ID}"))
  check(body['data']['attributes']['bundleId'] == BUNDLE_ID, "bundleId #{body['data']['attributes']['bundleId']}")
end
step('add domain') do
  attributes = { domain: DOMAIN, referenceName: 'compat' }
  body = expect_status(201, request('POST', '/v1/alternativeDistributionDomains',
                                    body: { data: { type: 'alternativeDistributionDomains', attributes: attributes } }))
  domain_id = body['data']['id']
  check(body['data']['attributes']['domain'] == DOMAIN, "domain #{body['data']['attributes']['domain']}")
end
step('list domains') do
  body = expect_status(200, request('GET', '/v1/alternativeDistributionDomains'))
  check(body['data'].any? { |d| d['id'] == domain_id }, "domain #{domain_id} not listed")
end
step('delete domain') { expect_status(204, request('DELETE', "/v1/alternativeDistributionDomains/#{domain_id}")) }
step('second key for the app is 409') do
  body = expect_status(409, request('POST', '/v1/alternativeDistributionKeys', body: key_body(PUBLIC_KEY_2)))
  check(body['errors'][0]['code'].start_with?('ENTITY_ERROR'), "code #{body['errors'][0]['code']}")
end
step('delete key') { expect_status(204, request('DELETE', "/v1/alternativeDistributionKeys/#{key_id}")) }
step('read deleted key is 404') do
  body = expect_status(404, request('GET', "/v1/alternativeDistributionKeys/#{key_id}"))
  check(body['errors'][0]['code'] == 'NOT_FOUND', "code #{body['errors'][0]['code']}")
end
step('read app with the older Spaceship token') do
  expect_status(200, request('GET', "/v1/apps/#{APP_ID}", token: LEGACY_TOKEN))
end

[TOKEN, LEGACY_TOKEN].each do |token|
  header, claims = token.split('.')[0, 2].map { |part| JSON.parse(Base64.urlsafe_decode64(part + '=' * (-part.length % 4))) }
  lifetime = claims['exp'] - (claims['iat'] || Time.now.to_i)
  puts "token header #{JSON.generate(header)} claims #{JSON.generate(claims)} (lifetime ~#{lifetime}s)"
end
exit($failed.zero? ? 0 : 1)
